"""The user's own settings page for the keyboard shortcuts: on or off, and the key of each action
(inbox/web/shortcuts.py). A refused form comes back with the problem next to each key and what
was typed kept."""
from __future__ import annotations

from aiohttp import web

from inbox.storage.repo import accounts
from inbox.web import i18n, shortcuts
from inbox.web.authcache import forget_all
from inbox.web.authn import require_user
from inbox.web.keys import SERVICES
from inbox.web.render import flash, form, redirect, render

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/settings/shortcuts")
async def shortcuts_page(request: web.Request) -> web.Response:
    user = require_user(request)
    prefs = shortcuts.parse(user.shortcuts)
    return await render(request, "shortcuts.html", {"prefs": prefs, "errors": {}, "page": "shortcuts"})


@routes.post("/settings/shortcuts")
async def shortcuts_save(request: web.Request) -> web.Response:
    user = require_user(request)
    data = await form(request)
    prefs, errors = shortcuts.validate(data.get("enabled") != "1",
                                       {a: data.get(f"key_{a}", "") for a in shortcuts.ACTIONS})
    if errors:
        typed = shortcuts.Prefs(off=prefs.off, keys={a: data.get(f"key_{a}", "") for a in shortcuts.ACTIONS})
        return await render(request, "shortcuts.html", {"prefs": typed, "errors": errors, "page": "shortcuts"},
                            status=422)
    svc = request.app[SERVICES]
    async with svc.engine.begin() as conn:
        await accounts.set_user_fields(user.id, {"shortcuts": shortcuts.dump(prefs)}, conn=conn, now=svc.clock.now())
    forget_all(request.app)
    await flash(request, i18n.gettext("Shortcuts saved."), "ok")
    raise redirect("/settings/shortcuts")
