"""The manager's dashboard: inbox.work.routing_metrics.compute_metrics as server-drawn SVG bar charts and
tables, filtered by period and team, and a CSV export with one row per item (a private team's
items, HR, only as one row with their count for people outside it: the ``items`` column). Managers
and admins see every team; leads see their own teams; agents are refused."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from aiohttp import web

from inbox.domain.types import UserInfo
from inbox.errors import Forbidden, Invalid
from inbox.storage.engine import snapshot_reader
from inbox.storage.repo import page_reads
from inbox.web import i18n, names
from inbox.web.authn import require_user
from inbox.web.brief_view import change_text
from inbox.web.charts import bar_chart, column_chart
from inbox.web.error_text import translate_error
from inbox.web.keys import SERVICES
from inbox.web.names import label_name
from inbox.web.render import render
from inbox.work import routing_metrics as metrics_mod
from inbox.work.agent_metrics import agent_metrics

__all__ = ["routes", "PERIODS", "parse_range", "Range"]

routes = web.RouteTableDef()
_ = i18n.gettext
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "90d": timedelta(days=90)}
MAX_RANGE_DAYS = 366
CSV_FIELDS = ["id", "team", "status", "priority", "label", "confidence", "source", "platform", "lang",
              "watchers", "assignee", "created_at", "first_touched_at", "resolved_at", "first_response_due",
              "resolve_due", "first_response_met", "time_to_first_touch_seconds", "time_to_resolve_seconds",
              "transfers", "bounces", "breached_first_response", "breached_resolution", "items"]


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


def _days(by_day: dict[str, dict[str, int]], until: datetime, period: timedelta) -> list[tuple[str, float]]:
    """Every day of [until - period, until) (zeros included) with its volume."""
    d, last = (until - period).date(), (until - timedelta(microseconds=1)).date()
    out: list[tuple[str, float]] = []
    while d <= last:
        key = d.isoformat()
        out.append((i18n.fmt_day_short(key), float(sum(by_day.get(key, {}).values()))))
        d += timedelta(days=1)
    return out


def _team_label(settings: Any, name: str) -> str:
    return names.team_name(name, settings)


class Range(NamedTuple):
    since: datetime
    until: datetime
    key: str            # a preset ("7d") or "custom"
    start: str          # the custom range's first and last day as typed back in the form
    end: str


def parse_range(query: Any, now: datetime) -> Range:
    """The period asked for: ``from``/``to`` (days, both included, UTC) or a preset ``period``.
    Raises Invalid for a malformed, reversed, future or longer than a year range."""
    start, end = (query.get("from") or "").strip(), (query.get("to") or "").strip()
    if not start and not end:
        key = query.get("period", "7d")
        key = key if key in PERIODS else "7d"
        return Range(now - PERIODS[key], now, key, "", "")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise Invalid("from and to must both be dates like 2026-01-31") from None
    if first > last:
        raise Invalid("from must not be after to")
    if first > now.date():
        raise Invalid("the range starts in the future")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise Invalid(f"a range is at most {MAX_RANGE_DAYS} days")
    since = datetime.combine(first, time(0), tzinfo=UTC)
    until = min(now, datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC))
    return Range(since, until, "custom", first.isoformat(), last.isoformat())


def _compare(now_v: float | None, before: float | None, fmt: Any, *, points: bool = False) -> dict[str, str]:
    return {"previous": fmt(before), "change": change_text(now_v, before, points=points)}


def _headline(m: dict[str, Any], p: dict[str, Any]) -> list[dict[str, Any]]:
    """The key figures, each with the previous period's and the change."""
    pct = lambda v: i18n.fmt_percent(v, ratio=False)  # noqa: E731
    acc = lambda v: i18n.fmt_percent(v)  # noqa: E731
    rows = [
        ("total", _("mentions queued"), m["volume"]["total"], p["volume"]["total"], i18n.fmt_number, False),
        ("first", _("median time to first touch"), m["time_to_first_touch"]["median_seconds"],
         p["time_to_first_touch"]["median_seconds"], i18n.fmt_seconds, False),
        ("resolve", _("median time to resolve"), m["time_to_resolve"]["median_seconds"],
         p["time_to_resolve"]["median_seconds"], i18n.fmt_seconds, False),
        ("sla", _("first responses within SLA"), m["sla"]["met_pct"], p["sla"]["met_pct"], pct, True),
        ("accuracy", _("model accuracy (from corrections)"), m["model_accuracy"]["accuracy"],
         p["model_accuracy"]["accuracy"], acc, False),
        ("crises", _("crises opened"), m["crises"]["opened_in_period"], p["crises"]["opened_in_period"],
         i18n.fmt_number, False),
    ]
    out = []
    for key, label, v, before, fmt, points in rows:
        if key == "accuracy":  # a ratio: compared in percentage points
            cmp = {"previous": fmt(before), "change": change_text(
                None if v is None else 100 * v, None if before is None else 100 * before, points=True)}
        else:
            cmp = _compare(v, before, fmt, points=points)
        out.append({"key": key, "label": label, "value": fmt(v), **cmp})
    return out


def _agents(cur: dict[str, dict[str, Any]], prev: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for name in sorted(cur, key=lambda n: (-cur[n]["handled"], n)):
        c, p = cur[name], prev.get(name, {})
        out.append({"name": c["display"], "handled": i18n.fmt_number(c["handled"]),
                    "handled_change": change_text(c["handled"], p.get("handled", 0)),
                    "first": i18n.fmt_seconds(c["median_first_response"]),
                    "first_previous": i18n.fmt_seconds(p.get("median_first_response")),
                    "sla": i18n.fmt_percent(c["sla_met_pct"], ratio=False),
                    "sla_change": change_text(c["sla_met_pct"], p.get("sla_met_pct"), points=True)})
    return out


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    user = require_user(request)
    svc = request.app[SERVICES]
    known = {t.name for t in svc.settings.teams}
    team, choices = scope(user, request.query.get("team") or None, known)
    now = svc.clock.now()
    error, status = None, 200
    try:
        rng = parse_range(request.query, now)
    except Invalid as e:  # shown beside the form, with the default period's figures
        error, status = translate_error(e.detail), 422
        rng = Range(now - PERIODS["7d"], now, "7d", request.query.get("from", "")[:40],
                    request.query.get("to", "")[:40])
    span = rng.until - rng.since
    m = await metrics_mod.compute_metrics(svc.engine, svc.settings, now, span, team=team, until=rng.until)
    prev = await metrics_mod.compute_metrics(svc.engine, svc.settings, now, span, team=team, until=rng.since)
    agents = _agents(await agent_metrics(svc.engine, rng.since, rng.until, team),
                     await agent_metrics(svc.engine, rng.since - span, rng.since, team))
    vol = m["volume"]
    pct = lambda v: i18n.fmt_percent(v, ratio=False)  # noqa: E731
    charts = {
        "by_team": bar_chart([(_team_label(svc.settings, k), v) for k, v in sorted(vol["by_team"].items(),
                                                                                 key=lambda kv: -kv[1])]),
        "by_source": bar_chart(sorted(vol["by_source"].items(), key=lambda kv: (-kv[1], kv[0]))[:12]),
        "by_day": column_chart(_days(vol["by_day"], rng.until, span)),
        "sla_by_team": bar_chart([(_team_label(svc.settings, t), v.get("first_response_met_pct"))
                                  for t, v in sorted((m["sla"].get("by_team") or {}).items())], fmt=pct, top=100),
        "transfer_rate": bar_chart([(label_name(lab), (t["transfer_rate"] or 0) * 100)
                                    for lab, t in m["transfers"].items()], fmt=pct, top=100),
    }
    teams = [t for t in svc.settings.teams if choices is None or t.name in choices]
    judged, corrected = m["model_accuracy"]["judged"], m["model_accuracy"]["corrected"]
    n_open, n_opened = m["crises"].get("open", 0), m["crises"].get("opened_in_period", 0)
    return await render(request, "dashboard.html", {
        "m": m, "charts": charts, "period": rng.key, "periods": list(PERIODS), "team": team, "range": rng,
        "error": error, "headline": _headline(m, prev), "agents": agents,
        "range_text": f"{i18n.fmt_datetime(rng.since, 'short')} – {i18n.fmt_datetime(rng.until, 'short')}",
        "previous_text": f"{i18n.fmt_datetime(rng.since - span, 'short')} – {i18n.fmt_datetime(rng.since, 'short')}",
        "judged_text": i18n.ngettext("%(num)s item judged by agents", "%(num)s items judged by agents", judged)
        % {"num": i18n.fmt_number(judged)},
        "corrected_text": i18n.ngettext("%(num)s corrected by a transfer", "%(num)s corrected by a transfer",
                                        corrected) % {"num": i18n.fmt_number(corrected)},
        "crises_text": i18n.ngettext("%(num)s open", "%(num)s open", n_open) % {"num": i18n.fmt_number(n_open)}
        + ", " + i18n.ngettext("%(num)s opened in the period", "%(num)s opened in the period", n_opened)
        % {"num": i18n.fmt_number(n_opened)},
        "breaches_text": i18n.ngettext("%(num)s breach", "%(num)s breaches", m["sla"]["breaches"])
        % {"num": i18n.fmt_number(m["sla"]["breaches"])},
        "teams": teams, "all_allowed": choices is None, "page": "dashboard",
        "team_label": lambda n: _team_label(svc.settings, n)}, status=status)


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
    custom = bool(request.query.get("from") or request.query.get("to"))
    if not custom and period_key not in PERIODS:
        raise Invalid("unknown period")
    team, _choices = scope(user, request.query.get("team") or None, known)
    now = svc.clock.now()
    rng = parse_range(request.query, now)  # a bad custom range: 422, as on the page
    name = f"{rng.start}_{rng.end}" if custom else period_key
    resp = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="inbox-items-{name}{"-" + team if team else ""}.csv"'})
    await resp.prepare(request)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_FIELDS)
    n = 0
    # a private team's items (HR) are counted, never listed, for people outside it: one row per team
    hidden = {t: 0 for t in svc.settings.private_teams if t not in user.teams}
    async with snapshot_reader(svc.engine).connect() as conn:
        async for r in page_reads.report_rows(rng.since, conn=conn, team=team,
                                              until=rng.until if custom else None):
            if r["team"] in hidden:
                hidden[r["team"]] += 1
                continue
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
                str(bool(r["breached_resolution"])).lower(), 1)])
            n += 1
            if n % 500 == 0:
                await resp.write(buf.getvalue().encode())
                buf.seek(0)
                buf.truncate()
    for t, count in sorted(hidden.items()):
        if count:
            w.writerow([""] + [t] + [""] * (len(CSV_FIELDS) - 3) + [count])
    await resp.write(buf.getvalue().encode())
    await resp.write_eof()
    return resp
