"""POST /api/v1/items/{id}/assign and /reopen (inbox.work.handover does the work)."""
from __future__ import annotations

from typing import Annotated, Literal, Self

from aiohttp import web
from pydantic import ConfigDict, Field, model_validator

from inbox.domain.types import UserInfo
from inbox.web.api_models import EmptyBody, ItemPath
from inbox.web.endpoints import ApiRoutes
from inbox.web.keys import WORK
from inbox.web.models import Body, Item, ItemEnvelope, ItemId, NonBlank, Out, TeamName
from inbox.work import bulk, handover

__all__ = ["api", "AssignBody", "BulkBody", "BulkResults"]

api = ApiRoutes("handover")

USER_NAME_PATTERN = "^[A-Za-z0-9_.@-]{1,64}$"


class AssignBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"user": "ann"}]})
    user: Annotated[str, Field(pattern=USER_NAME_PATTERN, description="the agent who gets the item")]
    override: bool = Field(False, description="a lead assigns past the agent's capacity (needs a reason)")
    reason: Annotated[NonBlank, Field(max_length=1000)] | None = None


@api.post("/api/v1/items/{id}/assign",
          summary="Give the item to a named agent of its team (leads), or take it yourself (agents)",
          path=ItemPath, body=AssignBody, response=ItemEnvelope, errors=(403, 409))
async def assign(request: web.Request, *, user: UserInfo, path: ItemPath, body: AssignBody) -> ItemEnvelope:
    item = await handover.assign(request.app[WORK], user, path.id, body.user, reason=body.reason,
                                 override=body.override)
    return ItemEnvelope(item=Item.of(item))


@api.post("/api/v1/items/{id}/reopen", summary="Put a resolved item back in its queue as new",
          path=ItemPath, body=EmptyBody, response=ItemEnvelope, errors=(403, 409))
async def reopen(request: web.Request, *, user: UserInfo, path: ItemPath, body: EmptyBody) -> ItemEnvelope:
    item = await handover.reopen(request.app[WORK], user, path.id)
    return ItemEnvelope(item=Item.of(item))


class BulkBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ids": [1, 2], "action": "resolve"}]})
    ids: list[ItemId] = Field(min_length=1, max_length=bulk.MAX_IDS)
    action: Literal["resolve", "transfer", "assign", "spam"]
    team: TeamName | None = Field(None, description="transfer: the team")
    user: Annotated[str, Field(pattern=USER_NAME_PATTERN, description="assign: the agent")] | None = None
    reason: Annotated[NonBlank, Field(max_length=1000)] | None = Field(
        None, description="transfer: why (required); assign: why the capacity is overridden")
    override: bool = False

    @model_validator(mode="after")
    def _needs(self) -> Self:
        if self.action == "transfer" and (self.team is None or self.reason is None):
            raise ValueError("transfer needs team and reason")
        if self.action == "assign" and self.user is None:
            raise ValueError("assign needs user")
        return self


class BulkResult(Out):
    id: int
    ok: bool
    status: int = Field(description="what the single action would have answered")
    error: str | None = None
    item: Item | None = None
    similar_resolved: list[int] = Field(
        default_factory=list, description="resolve: the open copies of the item's post resolved with it "
                                          "(each checked and audited as the single action)")
    resolved_with: int | None = Field(
        None, description="resolve: this id was already resolved as a copy of that earlier id of the request")


class BulkResults(Out):
    results: list[BulkResult]


@api.post("/api/v1/items/bulk",
          summary="One action on several items, each checked and audited as on its own (resolve: with the "
                  "open copies of each item's post)",
          body=BulkBody, response=BulkResults)
async def bulk_action(request: web.Request, *, user: UserInfo, body: BulkBody) -> BulkResults:
    out = await bulk.run(request.app[WORK], user, body.ids, body.action,
                         {"team": body.team, "user": body.user, "reason": body.reason, "override": body.override})
    return BulkResults(results=[BulkResult(id=o.id, ok=o.status == 200, status=o.status, error=o.error,
                                           item=Item.of(o.item) if o.item else None,
                                           similar_resolved=list(o.similar), resolved_with=o.resolved_with)
                                for o in out])
