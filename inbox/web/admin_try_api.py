"""Try before saving (admins only): "test this connector" runs one fetch of a connector entry (in
force or not yet saved) and shows its first items, storing nothing; "test the rules" shows the
decision a text would get (rule or model, team, priority, watchers) with the rules in force or
with a set of rules not yet saved."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ConfigDict, Field, ValidationError

from connectors.base import Mention
from connectors.config import ConnectorSettings
from inbox.domain.types import UserInfo
from inbox.ingest.poll import Poller
from inbox.ops import live_config
from inbox.web.admin_api import ADMIN, Entry, entry_model
from inbox.web.endpoints import ApiRoutes, InvalidFields, field_errors
from inbox.web.keys import SERVICES
from inbox.web.models import Body, NonBlank, Out

__all__ = ["api"]

api = ApiRoutes("tryout")


class TriedItem(Out):
    external_id: str
    author: str | None
    text: str
    url: str | None
    created_at: str | None


class Tried(Out):
    ok: bool
    error: str | None
    read: int
    rejected: int
    items: list[TriedItem]
    warnings: list[str]


ConnectorTry = entry_model("ConnectorTry", ConnectorSettings,
                            {"name": "try-news", "type": "rss", "feeds": ["https://example.org/feed.xml"]})


@api.post("/api/v1/admin/connectors/test", summary="Fetch once with a connector entry; nothing is stored",
          body=ConnectorTry, response=Tried, roles=ADMIN)
async def admin_test_connector(request: web.Request, *, user: UserInfo, body: Entry) -> Tried:
    svc = request.app[SERVICES]
    try:
        cfg = ConnectorSettings.model_validate(body.model_dump())
    except ValidationError as e:
        errors = field_errors(e, "body")
        raise InvalidFields("; ".join(f"{x['loc']}: {x['msg']}" for x in errors), errors) from None
    if cfg.type == "webhook":
        return Tried(ok=False, error="a webhook connector is pushed to, not fetched", read=0, rejected=0,
                     items=[], warnings=[])
    async with Poller(svc) as poller:
        return Tried.model_validate(await poller.try_fetch(cfg))


class RulesTry(Body):
    text: NonBlank = Field(max_length=5000)
    source: str = Field("test", max_length=64)
    platform: str = Field("test", max_length=32)
    author: str | None = Field(None, max_length=256)
    lang: str | None = Field(None, max_length=16)
    followers: int | None = Field(None, ge=0, le=10**10)
    rules: list[dict[str, Any]] | None = Field(None, max_length=500,
                                               description="rules to try instead of those in force")

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "My order 4471 arrived broken"}]})


class Decided(Out):
    team: str | None
    action: str
    priority: int
    watchers: list[str]
    rule: str | None
    label: str | None
    confidence: float | None
    reason: str


@api.post("/api/v1/admin/rules/test", summary="The decision a text would get; nothing is stored",
          body=RulesTry, response=Decided, roles=ADMIN)
async def admin_test_rules(request: web.Request, *, user: UserInfo, body: RulesTry) -> Decided:
    svc = request.app[SERVICES]
    settings = None
    if body.rules is not None:
        try:
            settings = live_config.overlay(svc.settings, {"rules": body.rules})
        except live_config.ConfigInvalid as e:
            raise InvalidFields(str(e), [{"loc": "body." + x["loc"], "msg": x["msg"]} for x in e.errors]) from None
    m = Mention(source=body.source, platform=body.platform, external_id="test", text=body.text,
                author_handle=body.author, language=body.lang, author_followers=body.followers)
    d = await (await svc.ready_pipeline()).dry_run(m, settings)
    return Decided(team=d.team, action=d.action, priority=d.priority, watchers=list(d.watchers), rule=d.rule,
                   label=d.label, confidence=d.confidence, reason=d.reason)
