"""The Reports page: the briefs sent (with their delivery to each recipient), each one's view and
PDF as sent, a preview of the brief of the period ending now, and "send now".

Who sees which brief: the executive brief, managers and admins; a team's brief, managers, admins
and the team's leads; a private team's brief (HR), only its members, since it quotes their
mentions. Agents see no reports."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from inbox.domain.types import UserInfo
from inbox.errors import Forbidden, Invalid, NotFound
from inbox.storage.engine import reader
from inbox.storage.repo import digests
from inbox.web import i18n
from inbox.web.authn import require_user
from inbox.web.brief_mail import send_now
from inbox.web.brief_pdf import render_pdf
from inbox.web.brief_view import audience_name, brief_view
from inbox.web.keys import SERVICES
from inbox.web.render import flash, form, redirect, render
from inbox.work.brief import EXECUTIVE, audiences, build_brief

__all__ = ["routes", "readable_audiences"]

routes = web.RouteTableDef()
_ = i18n.gettext


def readable_audiences(user: UserInfo, settings: Any) -> list[str]:
    """The audiences whose briefs ``user`` may read."""
    out = []
    for a in audiences(settings):
        team = settings.team(a)
        if a == EXECUTIVE:
            ok = user.sees_all_metrics
        elif team is not None and team.private:
            ok = a in user.teams and user.role != "agent"
        else:
            ok = user.sees_all_metrics or (user.role == "lead" and a in user.teams)
        if ok:
            out.append(a)
    return out


def _allowed(request: web.Request) -> tuple[UserInfo, list[str]]:
    user = require_user(request)
    allowed = readable_audiences(user, request.app[SERVICES].settings)
    if not allowed:
        raise Forbidden("reports are for managers, leads and admins")
    return user, allowed


def _audience(value: str | None, allowed: list[str]) -> str:
    if value not in allowed:
        raise Invalid("unknown audience") if value else Invalid("an audience is required")
    return str(value)


async def _run(request: web.Request, allowed: list[str]) -> dict[str, Any]:
    raw = request.match_info["run_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise NotFound("no such report")
    svc = request.app[SERVICES]
    async with reader(svc.engine).connect() as conn:
        run = await digests.get_run(int(raw), conn=conn)
    if run is None or run["audience"] not in allowed or not run["brief"]:
        raise NotFound("no such report")
    return run


def _period_of(run: dict[str, Any]) -> str:
    """A run's period as its brief says it: the first day to the last day (its end is exclusive)."""
    return f"{i18n.fmt_date(run['period_start'])} – {i18n.fmt_date(run['period_end'] - timedelta(seconds=1))}"


@routes.get("/reports")
async def reports_page(request: web.Request) -> web.Response:
    _user, allowed = _allowed(request)
    svc = request.app[SERVICES]
    async with reader(svc.engine).connect() as conn:
        runs = await digests.runs(conn=conn, audiences=allowed, limit=100)
        recipients = await digests.recipients(conn=conn)
    counts: dict[str, int] = {}
    for r in recipients:
        counts[r["audience"]] = counts.get(r["audience"], 0) + 1
    choices = [(a, audience_name(svc.settings, a), counts.get(a, 0)) for a in allowed]
    return await render(request, "reports.html", {
        "runs": runs, "choices": choices, "page": "reports", "every": i18n.fmt_seconds(
            svc.settings.digest.every.total_seconds()),
        "audience_name": lambda a: audience_name(svc.settings, a), "period_of": _period_of})


@routes.get("/reports/preview")
async def preview(request: web.Request) -> web.Response:
    _user, allowed = _allowed(request)
    svc = request.app[SERVICES]
    audience = _audience(request.query.get("audience") or allowed[0], allowed)
    now = svc.clock.now()
    brief = await build_brief(svc.engine, svc.settings, audience, now - svc.settings.digest.every, now)
    return await render(request, "report.html", {"v": brief_view(brief, svc.settings), "run": None,
                                                 "audience": audience, "page": "reports"})


@routes.get("/reports/{run_id}")
async def report_page(request: web.Request) -> web.Response:
    _user, allowed = _allowed(request)
    run = await _run(request, allowed)
    v = brief_view(run["brief"], request.app[SERVICES].settings)
    return await render(request, "report.html", {"v": v, "run": run, "audience": run["audience"],
                                                 "page": "reports"})


@routes.get("/reports/{run_id}/brief.pdf")
async def report_pdf(request: web.Request) -> web.Response:
    _user, allowed = _allowed(request)
    run = await _run(request, allowed)
    pdf = render_pdf(run["brief"], request.app[SERVICES].settings, i18n.current_locale())
    return web.Response(body=pdf, content_type="application/pdf", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="brief-{run["audience"]}-{run["brief"]["until"][:10]}.pdf"'})


@routes.post("/reports/send")
async def send(request: web.Request) -> web.Response:
    _user, allowed = _allowed(request)
    data = await form(request)
    audience = _audience(data.get("audience"), allowed)
    svc = request.app[SERVICES]
    async with reader(svc.engine).connect() as conn:
        has_recipients = bool(await digests.recipients(conn=conn, audience=audience))
    result = await send_now(svc, audience) if has_recipients else None
    if not has_recipients:
        await flash(request, _("Nobody receives this brief yet: add recipients in Admin › Briefs."), "error")
    elif result is None:
        await flash(request, _("This brief is already being sent."))
    elif result["status"] == "sent":
        n = len(result["deliveries"])
        await flash(request, i18n.ngettext("Brief sent to %(num)s recipient.", "Brief sent to %(num)s recipients.",
                                           n) % {"num": i18n.fmt_number(n)})
    else:
        await flash(request, _("The brief could not be sent to every recipient; see its deliveries."), "error")
    raise redirect("/reports")
