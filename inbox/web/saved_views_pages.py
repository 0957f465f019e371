"""The forms of saved views on the views and search pages: save the page's filters under a name
(POST /saved-views) and delete one (POST /saved-views/{id}/delete); the list itself is rendered
by those pages (``_saved_views.html``)."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from inbox.domain.types import UserInfo
from inbox.errors import DomainError
from inbox.web import i18n, saved_views
from inbox.web.authn import require_user
from inbox.web.error_text import translate_error
from inbox.web.inputs import ASCII_DIGITS
from inbox.web.render import flash, form, redirect

__all__ = ["routes", "context"]

routes = web.RouteTableDef()
_ = i18n.gettext


async def context(request: web.Request, user: UserInfo, page: str, query: dict[str, str]) -> dict[str, Any]:
    """What ``_saved_views.html`` needs: the user's saved views, and the current page's filters
    to save (only the keys that page reads)."""
    keep = {k: query[k] for k in saved_views.KEYS[page] if query.get(k)}
    return {"saved": await saved_views.listed(request, user), "save_page": page, "save_query": urlencode(keep),
            "save_as": request.query.get("save_as", "")[:saved_views.MAX_NAME]}


def _back(page: str, query: str, **extra: str) -> str:
    qs = "&".join(p for p in (query, urlencode(extra)) if p)
    return f"/{page if page in saved_views.KEYS else 'views'}" + (f"?{qs}" if qs else "")


@routes.post("/saved-views")
async def save(request: web.Request) -> web.Response:
    user = require_user(request)
    data = await form(request)
    page, query, name = data.get("page", ""), data.get("query", ""), data.get("name", "")
    try:
        view = await saved_views.save(request, user, name, page, dict(parse_qsl(query)))
    except DomainError as e:
        await flash(request, translate_error(e.detail), "error")
        raise redirect(_back(page, query, save_as=name)) from None
    await flash(request, _("Saved as %(name)s.") % {"name": view["name"]}, "ok")
    raise redirect(view["url"])


@routes.post("/saved-views/{id}/delete")
async def delete(request: web.Request) -> web.Response:
    user = require_user(request)
    raw = request.match_info["id"]
    if not ASCII_DIGITS.fullmatch(raw) or not 0 < int(raw) < 2**63:
        raise web.HTTPNotFound()
    data = await form(request)
    await saved_views.remove(request, user, int(raw))
    await flash(request, _("Saved view deleted."), "ok")
    raise redirect(_back(data.get("page", "views"), data.get("query", "")))
