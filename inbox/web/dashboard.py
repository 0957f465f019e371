"""The manager's dashboard: inbox.work.routing_metrics.compute_metrics as server-drawn SVG bar charts and
tables, filtered by period and team, and a CSV export with one row per item. Managers and
admins see every team; leads see their own teams; agents are refused."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from aiohttp import web

from inbox.domain.types import UserInfo
from inbox.errors import Forbidden, Invalid
from inbox.storage.engine import snapshot_reader
from inbox.storage.repo import page_reads
from inbox.web import i18n, names
from inbox.web.authn import require_user
from inbox.web.keys import SERVICES
from inbox.web.render import render
from inbox.work import routing_metrics as metrics_mod

__all__ = ["routes", "bar_chart", "PERIODS"]

routes = web.RouteTableDef()
_ = i18n.gettext
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "90d": timedelta(days=90)}
CSV_FIELDS = ["id", "team", "status", "priority", "label", "confidence", "source", "platform", "lang",
              "watchers", "assignee", "created_at", "first_touched_at", "resolved_at", "first_response_due",
              "resolve_due", "first_response_met", "time_to_first_touch_seconds", "time_to_resolve_seconds",
              "transfers", "bounces", "breached_first_response", "breached_resolution"]


def scope(user: UserInfo, team: str | None, known: set[str]) -> tuple[str | None, list[str] | None]:
    """(team filter, teams selectable) for the user; raises Forbidden for agents and for a lead
    asking about a team that is not theirs."""
    if team is not None and team not in known:
        raise Invalid("unknown team")
    if user.sees_all_metrics:
        return team, None
    if user.role == "lead" and user.teams:
        if team is None:
            team = user.teams[0]
        if team not in user.teams:
            raise Forbidden("leads see the metrics of their own teams")
        return team, list(user.teams)
    raise Forbidden("the dashboard is for managers, leads and admins")


def bar_chart(pairs: list[tuple[str, float | None]], *, width: int = 560, bar: int = 22, gap: int = 8,
              label_w: int = 150, fmt: Any = None) -> dict[str, Any]:
    """Geometry of a horizontal bar chart for the SVG template (all values are numbers or the
    labels, which the template escapes)."""
    top = max((v for _, v in pairs if v is not None), default=0) or 1
    span = width - label_w - 70
    bars = []
    for i, (label, value) in enumerate(pairs):
        y = i * (bar + gap)
        w = 0.0 if value is None else max(1.0 if value else 0.0, span * value / top)
        text = "—" if value is None else fmt(value) if fmt else i18n.fmt_number(value)
        bars.append({"label": label, "value": value, "text": text,
                     "x": label_w, "y": y, "w": round(w, 1), "h": bar, "ty": y + bar * 0.7,
                     "vx": label_w + w + 6})
    return {"bars": bars, "width": width, "height": max(bar, len(pairs) * (bar + gap) - gap), "label_w": label_w}


def column_chart(pairs: list[tuple[str, float]], *, width: int = 560, height: int = 180) -> dict[str, Any]:
    """Vertical bars (volume by day)."""
    top = max((v for _, v in pairs), default=0) or 1
    n = max(1, len(pairs))
    slot = (width - 40) / n
    cols = []
    for i, (label, value) in enumerate(pairs):
        h = (height - 40) * value / top
        w = max(2.0, min(slot * 0.7, 48.0))
        cols.append({"label": label, "value": value, "text": i18n.fmt_number(value),
                     "x": round(30 + i * slot + (slot - w) / 2, 1),
                     "w": round(w, 1), "y": round(height - 25 - h, 1), "h": round(h, 1),
                     "lx": round(30 + i * slot + slot / 2, 1), "show_label": i % max(1, -(-n // 8)) == 0})
    return {"cols": cols, "width": width, "height": height, "base": height - 25}


def _days(by_day: dict[str, dict[str, int]], now: Any, period: timedelta) -> list[tuple[str, float]]:
    """Every day of the period (zeros included) with its volume; at most 90 columns."""
    start = (now - period).date()
    out: list[tuple[str, float]] = []
    d = start
    while d <= now.date() and len(out) < 92:
        key = d.isoformat()
        out.append((i18n.fmt_day_short(key), float(sum(by_day.get(key, {}).values()))))
        d += timedelta(days=1)
    return out


def _team_label(settings: Any, name: str) -> str:
    return names.team_name(name, settings)


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    user = require_user(request)
    svc = request.app[SERVICES]
    known = {t.name for t in svc.settings.teams}
    period_key = request.query.get("period", "7d")
    if period_key not in PERIODS:
        period_key = "7d"
    team, choices = scope(user, request.query.get("team") or None, known)
    m = await metrics_mod.compute_metrics(svc.engine, svc.settings, svc.clock.now(), PERIODS[period_key], team=team)
    vol = m["volume"]
    by_day = vol["by_day"]
    charts = {
        "by_team": bar_chart([(_team_label(svc.settings, k), v) for k, v in sorted(vol["by_team"].items(),
                                                                                 key=lambda kv: -kv[1])]),
        "by_source": bar_chart(sorted(vol["by_source"].items(), key=lambda kv: -kv[1])[:12]),
        "by_day": column_chart(_days(by_day, svc.clock.now(), PERIODS[period_key])),
        "sla_by_team": bar_chart([(_team_label(svc.settings, t), v.get("first_response_met_pct"))
                                  for t, v in sorted((m["sla"].get("by_team") or {}).items())],
                                 fmt=lambda v: i18n.fmt_percent(v, ratio=False)),
        "transfer_rate": bar_chart([(names.label_name(lab), (t["transfer_rate"] or 0) * 100)
                                    for lab, t in m["transfers"].items()],
                                   fmt=lambda v: i18n.fmt_percent(v, ratio=False)),
    }
    teams = [t for t in svc.settings.teams if choices is None or t.name in choices]
    return await render(request, "dashboard.html", {
        "m": m, "charts": charts, "period": period_key, "periods": list(PERIODS), "team": team,
        "teams": teams, "all_allowed": choices is None, "page": "dashboard",
        "team_label": lambda n: _team_label(svc.settings, n)})


def _cell(v: Any) -> Any:
    """Spreadsheet-safe: text starting with = + - @ is not a formula."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


@routes.get("/dashboard/export.csv")
async def export_csv(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    svc = request.app[SERVICES]
    known = {t.name for t in svc.settings.teams}
    period_key = request.query.get("period", "7d")
    if period_key not in PERIODS:
        raise Invalid("unknown period")
    team, _choices = scope(user, request.query.get("team") or None, known)
    now = svc.clock.now()
    resp = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="inbox-items-{period_key}{"-" + team if team else ""}.csv"'})
    await resp.prepare(request)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_FIELDS)
    n = 0
    async with snapshot_reader(svc.engine).connect() as conn:
        async for r in page_reads.report_rows(now - PERIODS[period_key], conn=conn, team=team):
            created, touched, resolved, due = r["created_at"], r["first_touched_at"], r["resolved_at"], \
                r["first_response_due"]
            met = None if due is None else (touched <= due if touched else (None if now <= due else False))
            w.writerow([_cell(x) for x in (
                r["id"], r["team"], r["status"], r["priority"], r["label"], r["confidence"], r["source"],
                r["platform"], r["lang"], " ".join(r["watchers"] or []), r["assignee"],
                *(d.isoformat() if d else "" for d in (created, touched, resolved, due, r["resolve_due"])),
                "" if met is None else str(met).lower(),
                round((touched - created).total_seconds()) if touched and created else "",
                round((resolved - created).total_seconds()) if resolved and created else "",
                r["transfers"], r["bounces"], str(bool(r["breached_first_response"])).lower(),
                str(bool(r["breached_resolution"])).lower())])
            n += 1
            if n % 500 == 0:
                await resp.write(buf.getvalue().encode())
                buf.seek(0)
                buf.truncate()
    await resp.write(buf.getvalue().encode())
    await resp.write_eof()
    return resp
