"""POST /api/v1/items/{id}/assign and /reopen (inbox.work.handover does the work)."""
from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import ConfigDict, Field

from inbox.domain.types import UserInfo
from inbox.web.api_models import EmptyBody, ItemPath
from inbox.web.endpoints import ApiRoutes
from inbox.web.keys import WORK
from inbox.web.models import Body, Item, ItemEnvelope, NonBlank
from inbox.work import handover

__all__ = ["api", "AssignBody"]

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
