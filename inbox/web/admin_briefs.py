"""Admin › Briefs: who receives each audience's brief (a team's, or the executive one) and in which
language. Admins only; every change is a form post with its CSRF token."""
from __future__ import annotations

from aiohttp import web

from inbox.errors import Invalid
from inbox.storage.repo import digests
from inbox.web import i18n
from inbox.web.admin import admin_read, require_admin
from inbox.web.brief_view import audience_name
from inbox.web.keys import SERVICES
from inbox.web.render import flash, form, redirect, render
from inbox.work.brief import audiences, recipient_problem

__all__ = ["routes"]

routes = web.RouteTableDef()
_ = i18n.gettext


@routes.get("/admin/briefs")
async def briefs_page(request: web.Request) -> web.Response:
    return await _page(request)


async def _page(request: web.Request, typed: dict[str, str] | None = None, error: str | None = None) -> web.Response:
    """The page; after a refused address, with what was typed still in the form and why beside it."""
    svc, rows = await admin_read(request, lambda conn: digests.recipients(conn=conn))
    groups = [(a, audience_name(svc.settings, a), [r for r in rows if r["audience"] == a])
              for a in audiences(svc.settings)]
    return await render(request, "admin/briefs.html", {"groups": groups, "page": "admin", "section": "briefs",
                                                       "locales": i18n.LOCALES, "typed": typed or {},
                                                       "error": error}, status=422 if error else 200)


@routes.post("/admin/briefs")
async def briefs_save(request: web.Request) -> web.Response:
    require_admin(request)
    svc = request.app[SERVICES]
    data = await form(request)
    now = svc.clock.now()
    if data.get("remove"):
        raw = data["remove"]
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
            raise Invalid("bad recipient id")
        async with svc.engine.begin() as conn:
            removed = await digests.remove_recipient(int(raw), conn=conn)
        await flash(request, _("Recipient removed.") if removed else _("That recipient was already removed."))
        raise redirect("/admin/briefs")
    audience, email, lang = data.get("audience", ""), data.get("email", "").strip(), data.get("lang", "en")
    if lang not in i18n.LOCALES:
        raise Invalid("unknown language")
    if recipient_problem(svc.settings, audience, email):
        return await _page(request, {"audience": audience, "email": email, "lang": lang},
                           _("Not added: give a plain e-mail address such as name@example.com."))
    async with svc.engine.begin() as conn:
        added = await digests.add_recipient(audience, email, lang, conn=conn, now=now)
    await flash(request, (_("%(email)s will receive the brief: %(brief)s.") if added else
                          _("%(email)s already receives the brief %(brief)s; language updated.")) % {
        "email": email, "brief": audience_name(svc.settings, audience)})
    raise redirect("/admin/briefs")
