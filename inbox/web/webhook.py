"""POST /api/v1/ingest/{connector}: pushed mentions (HMAC-SHA256 signed) into the pipeline. The
handler reads the raw body itself: the signature covers the exact bytes."""
from __future__ import annotations

import os
from typing import Annotated

import structlog
from aiohttp import web
from pydantic import Field

from connectors.errors import ConfigError as ConnectorConfigError
from connectors.errors import SignatureError
from connectors.webhook import WebhookConnector
from inbox.errors import NotFound
from inbox.web.endpoints import ApiRoutes
from inbox.web.inputs import read_limited
from inbox.web.keys import SERVICES
from inbox.web.models import Out, Params

__all__ = ["api", "MAX_WEBHOOK_BODY"]

log = structlog.get_logger(__name__)
api = ApiRoutes("ingest")
MAX_WEBHOOK_BODY = 1024 * 1024


class ConnectorPath(Params):
    connector: Annotated[str, Field(pattern="^[a-z0-9_-]{1,64}$", description="a webhook connector's name")]


class IngestSummary(Out):
    read: int
    ingested: int
    duplicates: int
    rejected: int = Field(description="malformed items, kept in the dead-letter table with their raw body")
    reposts: int
    queued: int
    triaged: int
    teams: dict[str, int]


_BODY = {"required": True, "description": (
    "A JSON object, or a list of objects, each with 'text' (required), 'id', 'author', 'url', "
    "'created_at' (ISO 8601) and 'lang'; or a Typeform form_response. Sign it: X-Inbox-Timestamp "
    "(unix seconds) and X-Inbox-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + '.' + body)); "
    "a timestamp more than 5 minutes away is refused."),
    "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array",
                                                                                "items": {"type": "object"}}]}}}}


@api.post("/api/v1/ingest/{connector}", summary="Inbound webhook: mentions signed with HMAC-SHA256",
          auth=False, path=ConnectorPath, raw_body=_BODY, response=IngestSummary, status=202,
          errors=(401, 413, 503))
async def ingest_webhook(request: web.Request, *, path: ConnectorPath) -> IngestSummary:
    svc = request.app[SERVICES]
    name = path.connector
    cfg = svc.settings.connector(name)
    if cfg is None or cfg.type != "webhook":
        raise NotFound(f"no webhook connector {name!r}")
    body = await read_limited(request, MAX_WEBHOOK_BODY)
    try:
        hook = WebhookConnector(cfg, None, env=os.environ)
    except ConnectorConfigError as e:
        log.error("webhook_misconfigured", connector=name, error=str(e))
        raise web.HTTPServiceUnavailable(text="webhook secret is not configured") from None
    hook._clock = svc.clock.now  # the service clock decides the replay window
    try:
        mentions, rejects = hook.receive(body, request.headers)
    except SignatureError as e:
        log.warning("webhook_refused", connector=name, reason=str(e))
        raise web.HTTPUnauthorized(text=f"signature check failed: {e}") from None
    pipeline = await svc.ready_pipeline()
    res = await pipeline.ingest(mentions, rejects, log_event="webhook_batch")
    return IngestSummary.model_validate(res.summary())
