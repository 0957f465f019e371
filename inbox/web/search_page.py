"""The search page (/search): the header's search box lands here; results are the API's
(inbox.web.search_api.run_search), so the page shows exactly what the caller may see."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from inbox.domain.types import UserInfo
from inbox.storage.engine import read_conn
from inbox.storage.repo import accounts
from inbox.web import i18n, names
from inbox.web.authn import require_user
from inbox.web.keys import SERVICES
from inbox.web.render import render
from inbox.web.saved_views_pages import context as saved_context
from inbox.web.search_api import SearchQuery, run_search
from inbox.work.item_actions import visible_teams

__all__ = ["routes"]

routes = web.RouteTableDef()
_ = i18n.gettext
_KEYS = ("q", "team", "status", "lang", "source", "assignee", "priority", "label", "since", "until")
#: the filters under "More filters" (the box is open when one of them is set)
_MORE = ("lang", "source", "assignee", "priority", "label", "since", "until")
N_ = i18n.N_
PRIORITIES = {"0": N_("low"), "1": N_("normal"), "2": N_("high"), "3": N_("urgent")}
LANGUAGES = ("en", "it")


def _until_inclusive(raw: dict[str, str]) -> dict[str, str]:
    """The form's "To" date is the last day wanted; the API's ``until`` is the first day not wanted."""
    until = raw.get("until", "")
    if len(until) == 10:
        try:
            return {**raw, "until": (date.fromisoformat(until) + timedelta(days=1)).isoformat()}
        except ValueError:
            pass
    return raw


async def _choices(request: web.Request, user: UserInfo, raw: dict[str, str]) -> dict[str, Any]:
    """What the filters offer: teams and people of the teams the user sees; labels but those
    routed to a private team the user is not in (HR's)."""
    svc = request.app[SERVICES]
    seen = visible_teams(user)
    teams = [t for t in svc.settings.teams if seen is None or t.name in seen]
    private = {t.name for t in svc.settings.teams if t.private and seen is not None and t.name not in seen}
    routed = svc.settings.routing.label_to_team
    labels = [lab for lab in names.LABELS if routed.get(lab, lab) not in private]
    async with read_conn(svc.engine) as conn:
        people = [u.name for u in await accounts.list_users(conn=conn)
                  if seen is None or set(u.teams) & set(seen)]
    langs = list(LANGUAGES) + ([raw["lang"]] if raw.get("lang") and raw["lang"] not in LANGUAGES else [])
    return {"teams": teams, "labels": labels, "people": people, "languages": langs,
            "sources": sorted({c.name for c in svc.settings.connectors} | {"import"}),
            "priorities": {k: i18n.gettext(v) for k, v in PRIORITIES.items()},
            "more_open": any(raw.get(k) for k in _MORE)}


@routes.get("/search")
async def search_page(request: web.Request) -> web.Response:
    user = require_user(request)
    raw = {k: v for k, v in request.query.items() if k in (*_KEYS, "cursor") and v != ""}
    ctx: dict[str, Any] = {"page": "search", "q": raw.get("q", ""), "status": raw.get("status", "all"),
                           "team": raw.get("team", ""), "f": raw, "hits": [], "more_url": None,
                           **await _choices(request, user, raw), **await saved_context(request, user, "search", raw)}
    try:
        query = SearchQuery.model_validate(_until_inclusive(raw))
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
