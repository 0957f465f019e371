"""Saved views: a user names the filters and sort of the views page or of a search, sees their
saved views listed on both pages, opens and deletes them (API: inbox.web.saved_views_api).

A saved view is the page and its query string, cut down to the keys that page reads and
checked as the page would check them; a team in it must be one the user may see when saving.
What a view shows is decided when it is opened, by the page, under the user's visibility at
that moment: HR items never reach someone outside HR, whatever was saved."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from pydantic import ValidationError

from inbox.domain.types import UserInfo
from inbox.errors import Conflict, Invalid, NotFound
from inbox.storage.engine import read_conn
from inbox.storage.repo import saved_views as repo
from inbox.storage.repo import views
from inbox.web.keys import SERVICES, WORK
from inbox.web.search_api import SearchQuery

__all__ = ["KEYS", "MAX_PER_USER", "canonical", "save", "remove", "listed"]

#: page → the query keys it reads, in the order they are written
KEYS: dict[str, tuple[str, ...]] = {
    "views": ("view", "sort", "team"),
    "search": ("q", "team", "status", "lang", "source", "assignee", "priority", "label", "since", "until"),
}
MAX_PER_USER = 50
MAX_NAME = 80


def canonical(request: web.Request, user: UserInfo, page: str, query: Mapping[str, str]) -> str:
    """The query string to store for ``page``: its own keys only, each valid for that page."""
    if page not in KEYS:
        raise Invalid("page must be one of ['views', 'search']")
    unknown = sorted(set(query) - set(KEYS[page]))
    if unknown:
        raise Invalid(f"unknown filter {unknown[0]!r}")
    kept = {k: str(query[k]) for k in KEYS[page] if query.get(k) not in (None, "")}
    if page == "views":
        if kept.get("view", "mine") not in views.VIEWS or kept.get("sort", "priority") not in views.SORTS:
            raise Invalid("the filters are not valid")
    else:
        try:
            SearchQuery.model_validate(kept)
        except ValidationError:
            raise Invalid("the filters are not valid") from None
    if "team" in kept:
        request.app[WORK].check_team(user, kept["team"])
    return urlencode(kept)


def _url(page: str, query: str) -> str:
    return f"/{page}?{query}" if query else f"/{page}"


def _out(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "page": row["page"],
            "query": dict(parse_qsl(row["query"])), "url": _url(row["page"], row["query"]),
            "created_at": row["created_at"]}


async def listed(request: web.Request, user: UserInfo) -> list[dict[str, Any]]:
    """The user's saved views by name, each with the URL that opens it."""
    async with read_conn(request.app[SERVICES].engine) as conn:
        return [_out(r) for r in await repo.list_for(user.id, conn=conn)]


async def save(request: web.Request, user: UserInfo, name: str, page: str, query: Mapping[str, str]) -> dict[str, Any]:
    """Store the view under ``name`` for ``user``; 409 when they already have one so named."""
    name = " ".join(name.split())
    if not name:
        raise Invalid("a saved view needs a name")
    if len(name) > MAX_NAME:
        raise Invalid(f"a name is at most {MAX_NAME} characters")
    stored = canonical(request, user, page, query)
    svc = request.app[SERVICES]
    async with svc.engine.begin() as conn:
        if await repo.count_for(user.id, conn=conn) >= MAX_PER_USER:
            raise Invalid(f"you can keep at most {MAX_PER_USER} saved views")
        try:
            row = await repo.add(user.id, name, page, stored, conn=conn, now=svc.clock.now())
        except repo.NameTaken:
            raise Conflict(f"you already have a saved view named {name!r}") from None
    return _out(row)


async def remove(request: web.Request, user: UserInfo, view_id: int) -> None:
    async with request.app[SERVICES].engine.begin() as conn:
        if not await repo.remove(user.id, view_id, conn=conn):
            raise NotFound(f"no saved view {view_id}")
