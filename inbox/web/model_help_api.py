""""Help the model" over HTTP: the open items of the caller's teams that the model is least sure of,
and a lead's answer for one (confirm its label or give the right one; a correction like a transfer's)."""
from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import ConfigDict, Field

from inbox.domain.types import UserInfo
from inbox.web.api_models import ItemPath
from inbox.web.endpoints import ApiRoutes
from inbox.web.keys import SERVICES, WORK
from inbox.web.models import Body, Item, Out, Params
from inbox.work.model_help import HELP_ROLES, uncertain_items

__all__ = ["api", "REASON"]

api = ApiRoutes("model")

#: the reason stored with the correction (and the transfer, when the label moves the item)
REASON = "help the model"


class UncertainQuery(Params):
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class UncertainItem(Out):
    id: int
    team: str
    label: str
    confidence: float
    margin: float = Field(description="the top probability minus the second (smallest first)")
    probabilities: dict[str, float]
    cluster_key: str | None
    text: str
    lang: str | None


class UncertainList(Out):
    items: list[UncertainItem]


class LabelBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"label": "customer_care"}]})
    label: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


@api.get("/api/v1/model/uncertain", summary="Open items of the caller's teams the model is least sure of, "
         "one per cluster", query=UncertainQuery, response=UncertainList, roles=HELP_ROLES)
async def uncertain(request: web.Request, *, user: UserInfo, query: UncertainQuery) -> UncertainList:
    rows = await uncertain_items(request.app[SERVICES].engine, user, query.limit)
    return UncertainList(items=[UncertainItem.model_validate(r) for r in rows])


@api.post("/api/v1/items/{id}/label", summary="Confirm the model's label of an item or correct it (counted "
          "like a transfer; a label of another team moves the item)", path=ItemPath, body=LabelBody,
          response=Item, roles=HELP_ROLES, errors=(409,))
async def label_item(request: web.Request, *, user: UserInfo, path: ItemPath, body: LabelBody) -> Item:
    return Item.of(await request.app[WORK].set_label(user, path.id, body.label, REASON))
