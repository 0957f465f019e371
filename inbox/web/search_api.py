"""GET /api/v1/search: items the caller may see, open and closed, ranked by relevance, with
highlighted snippets and keyset pagination (inbox.storage.repo.search does the query)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aiohttp import web
from pydantic import BeforeValidator, Field, field_validator

from inbox.domain.types import UserInfo
from inbox.web.endpoints import ApiRoutes
from inbox.web.inputs import ascii_int
from inbox.web.keys import SERVICES, WORK
from inbox.web.models import Item, Out, Params, PlainText, QueryInt, TeamName
from inbox.work import finder
from inbox.work.item_actions import visible_teams

__all__ = ["api", "SearchQuery", "SearchPage", "run_search", "as_time"]

api = ApiRoutes("search")

_ST = "(open|closed|all|new|claimed|replied|waiting|resolved|spam)"
_NAME = "^[A-Za-z0-9_.@-]{1,64}$"
_WHEN = ("^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?"
         "(Z|[+-][0-9]{2}:[0-9]{2})?)?$")


class SearchQuery(Params):
    q: Annotated[PlainText, Field(max_length=500, description=(
        'words (all must match), "a phrase", word* for a prefix; case and accents do not matter'))] = ""
    team: TeamName | None = None
    status: Annotated[str, Field(pattern=f"^{_ST}(,{_ST})*$", max_length=200, description=(
        "'all' (default), 'open', 'closed' (resolved and spam) or a comma-separated list of statuses"))] = "all"
    lang: Annotated[str, Field(pattern="^[a-z]{2,3}$")] | None = None
    source: Annotated[str, Field(pattern=_NAME)] | None = None
    assignee: Annotated[str, Field(pattern=_NAME, description="a user name, or 'none' for unassigned")] | None = None
    priority: Annotated[int, Field(ge=0, le=3), BeforeValidator(ascii_int)] | None = None
    label: Annotated[str, Field(pattern="^[a-z][a-z0-9_]{0,31}$")] | None = None
    since: Annotated[str, Field(pattern=_WHEN, max_length=40, description=(
        "received at or after: a date or an RFC 3339 time (UTC when no offset is given)"))] | None = None
    until: Annotated[str, Field(pattern=_WHEN, max_length=40, description=(
        "received before: a date or an RFC 3339 time (UTC when no offset is given)"))] | None = None
    limit: QueryInt = Field(20, ge=1, le=100)
    cursor: Annotated[str, Field(pattern="^[A-Za-z0-9_-]{1,200}$", description=(
        "next_cursor of the previous page"))] | None = None

    @field_validator("since", "until")
    @classmethod
    def _valid_time(cls, v: str | None) -> str | None:
        if v is not None:
            as_time(v)
        return v


def as_time(v: str | None) -> datetime | None:
    """A query's date or time as an aware datetime (UTC when it has no offset)."""
    if v is None:
        return None
    d = datetime.fromisoformat(v)
    return d if d.tzinfo is not None else d.replace(tzinfo=UTC)


class SearchHit(Item):
    snippet: str | None = Field(None, description="HTML: the text around the matched words, escaped, "
                                                  "matched words in <mark>")
    score: float = Field(description="relevance, lower first; 0 when the words match too many mentions to rank "
                                     "and the pages run newest first")


class SearchPage(Out):
    items: list[SearchHit]
    next_cursor: str | None = Field(description=(
        "the cursor of the next page, null at the end; a page of a very common word may hold fewer "
        "items than the limit (even none) and still have one: it looked at the newest 10,000 matches"))


async def run_search(request: web.Request, user: UserInfo, query: SearchQuery) -> SearchPage:
    """The page for ``query`` as ``user`` sees it (also used by the search page)."""
    if query.team is not None:
        request.app[WORK].check_team(user, query.team)
    filters = finder.SearchFilters(
        teams=visible_teams(user), team=query.team, statuses=finder.statuses_of(query.status), lang=query.lang,
        source=query.source, assignee=query.assignee, priority=query.priority, label=query.label,
        since=as_time(query.since), until=as_time(query.until))
    page = await finder.find(request.app[SERVICES].reads, query.q, filters, limit=query.limit, cursor=query.cursor)
    return SearchPage.model_validate({"items": page.items, "next_cursor": page.next_cursor})


@api.get("/api/v1/search", summary="Search the items you may see, open and closed, best match first",
         query=SearchQuery, response=SearchPage, errors=(403, 404))
async def search(request: web.Request, *, user: UserInfo, query: SearchQuery) -> SearchPage:
    return await run_search(request, user, query)
