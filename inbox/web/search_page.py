"""The search page (/search): the header's search box lands here; results are the API's
(inbox.web.search_api.run_search), so the page shows exactly what the caller may see."""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from inbox.web import i18n
from inbox.web.authn import require_user
from inbox.web.keys import SERVICES
from inbox.web.render import render
from inbox.web.search_api import SearchQuery, run_search
from inbox.work.item_actions import visible_teams

__all__ = ["routes"]

routes = web.RouteTableDef()
_ = i18n.gettext
_KEYS = ("q", "team", "status", "lang", "source", "assignee", "priority", "label", "since", "until")


@routes.get("/search")
async def search_page(request: web.Request) -> web.Response:
    user = require_user(request)
    raw = {k: v for k, v in request.query.items() if k in (*_KEYS, "cursor") and v != ""}
    teams = [t for t in request.app[SERVICES].settings.teams if user.is_admin or t.name in (visible_teams(user) or [])]
    ctx: dict[str, object] = {"page": "search", "q": raw.get("q", ""), "status": raw.get("status", "all"),
                              "team": raw.get("team", ""), "teams": teams, "hits": [], "more_url": None}
    try:
        query = SearchQuery.model_validate(raw)
    except ValidationError:
        ctx["error"] = _("Some of the search filters are not valid.")
        return await render(request, "search.html", ctx, status=422)
    if not query.q and not (set(raw) - {"status"}):
        return await render(request, "search.html", ctx)
    page = await run_search(request, user, query)
    ctx["hits"] = page.items
    ctx["searched"] = True
    if page.next_cursor:
        keep = {k: raw[k] for k in _KEYS if k in raw}
        ctx["more_url"] = "/search?" + urlencode({**keep, "cursor": page.next_cursor})
    return await render(request, "search.html", ctx)
