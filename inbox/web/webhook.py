"""POST /api/v1/ingest/{connector}: pushed mentions (HMAC-SHA256 signed) into the pipeline."""
from __future__ import annotations

import os

import structlog
from aiohttp import web

from connectors.errors import ConfigError as ConnectorConfigError
from connectors.errors import SignatureError
from connectors.webhook import WebhookConnector
from inbox.web.keys import SERVICES

__all__ = ["routes", "MAX_WEBHOOK_BODY"]

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
MAX_WEBHOOK_BODY = 1024 * 1024


@routes.post("/api/v1/ingest/{connector}")
async def ingest_webhook(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    name = request.match_info["connector"]
    cfg = svc.settings.connector(name)
    if cfg is None or cfg.type != "webhook":
        raise web.HTTPNotFound(text=f"no webhook connector {name!r}")
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BODY, actual_size=request.content_length)
    body = await request.content.read(MAX_WEBHOOK_BODY + 1)
    if len(body) > MAX_WEBHOOK_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BODY, actual_size=len(body))
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
    return web.json_response({k: v for k, v in res.summary().items()}, status=202)
