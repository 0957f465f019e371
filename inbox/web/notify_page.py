"""/notifications: the signed-in user's notifications (newest first, unread marked), mark one or
all read, and their settings: which kinds they get and whether the browser may show them (the
browser asks for permission only when that is turned on). The header's bell and the tab title
carry the unread count on every page (notify_api.header_state) and follow it live (app.js)."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from inbox.domain import people_notify as pn
from inbox.domain.types import UserInfo
from inbox.web import i18n
from inbox.web.authn import require_user
from inbox.web.notify_api import mark_ids, notifications_of, prefs_of, save_prefs
from inbox.web.notify_text import KIND_TITLES
from inbox.web.render import flash, form, form_lists, redirect, render

__all__ = ["routes"]

routes = web.RouteTableDef()
PAGE = 50


async def _list_ctx(request: web.Request, user: UserInfo) -> dict[str, Any]:
    raw = request.query.get("before", "")
    before = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
    rows, unread = await notifications_of(request, user, limit=PAGE, before=before)
    return {"notices": rows, "unread": unread, "page": "notifications", "before": before,
            "older": rows[-1]["id"] if len(rows) == PAGE else None,
            "kind_titles": {k: i18n.gettext(v) for k, v in KIND_TITLES.items()}}


@routes.get("/notifications")
async def notifications_page(request: web.Request) -> web.Response:
    user = require_user(request)
    ctx = await _list_ctx(request, user)
    if request.query.get("partial"):
        return await render(request, "_notifications_list.html", ctx)
    prefs = await prefs_of(request, user)
    return await render(request, "notifications.html", {**ctx, "prefs": prefs, "kinds": pn.KINDS})


@routes.post("/notifications/read")
async def read_one(request: web.Request) -> web.Response:
    user = require_user(request)
    ids = [int(v) for v in await form_lists(request, "id") if v.isascii() and v.isdigit() and len(v) < 19]
    if ids:
        await mark_ids(request, user, ids)
    await flash(request, i18n.gettext("Marked as read."), "ok")
    raise redirect("/notifications")


@routes.post("/notifications/read-all")
async def read_all(request: web.Request) -> web.Response:
    user = require_user(request)
    await mark_ids(request, user, None)
    await flash(request, i18n.gettext("All notifications marked as read."), "ok")
    raise redirect("/notifications")


@routes.post("/notifications/settings")
async def save_settings(request: web.Request) -> web.Response:
    user = require_user(request)
    data = await form(request)
    kinds = [k for k in await form_lists(request, "kind") if k in pn.KINDS]
    await save_prefs(request, user, pn.Prefs(frozenset(kinds), data.get("browser") == "1"))
    await flash(request, i18n.gettext("Notification settings saved."), "ok")
    raise redirect("/notifications")
