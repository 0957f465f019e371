"""GET/POST /api/v1/saved-views and DELETE /api/v1/saved-views/{id}: the caller's own saved views
(inbox.web.saved_views does the checks)."""
from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import ConfigDict, Field

from inbox.domain.types import UserInfo
from inbox.web import saved_views
from inbox.web.endpoints import ApiRoutes
from inbox.web.models import Body, ItemId, NonBlank, Out, Params, PlainText, Timestamp

__all__ = ["api", "SavedViewBody", "SavedView", "SavedViews"]

api = ApiRoutes("saved_views")


class SavedViewBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "Urgent, unassigned", "page": "search", "query": {"status": "open", "priority": "3",
                                                                     "assignee": "none"}}]})
    name: Annotated[NonBlank, Field(max_length=saved_views.MAX_NAME)]
    page: Literal["views", "search"] = Field(description="the page the view opens: /views or /search")
    query: dict[Annotated[str, Field(max_length=16)], Annotated[PlainText, Field(max_length=500)]] = Field(
        default_factory=dict, max_length=12,
        description="the page's filters and sort as in its query string (views: view, sort, team; search: "
                    "q, team, status, lang, source, assignee, priority, label, since, until)")


class SavedView(Out):
    id: int
    name: str
    page: Literal["views", "search"]
    query: dict[str, str]
    url: str = Field(description="the page with the view's filters")
    created_at: Timestamp


class SavedViews(Out):
    views: list[SavedView]


class SavedViewPath(Params):
    id: ItemId


@api.get("/api/v1/saved-views", summary="Your saved views, by name", response=SavedViews)
async def list_views(request: web.Request, *, user: UserInfo) -> SavedViews:
    return SavedViews.model_validate({"views": await saved_views.listed(request, user)})


@api.post("/api/v1/saved-views", summary="Save the filters and sort of the views page or a search under a name",
          body=SavedViewBody, response=SavedView, status=201, errors=(403, 409))
async def add_view(request: web.Request, *, user: UserInfo, body: SavedViewBody) -> SavedView:
    return SavedView.model_validate(await saved_views.save(request, user, body.name, body.page, body.query))


@api.delete("/api/v1/saved-views/{id}", summary="Delete one of your saved views", path=SavedViewPath,
            response=None, status=204)
async def delete_view(request: web.Request, *, user: UserInfo, path: SavedViewPath) -> None:
    await saved_views.remove(request, user, path.id)
