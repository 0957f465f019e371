"""A local HTTP server that serves feed and API payloads as a platform would, for the source
conformance tests: ``server.put(path, body, content_type)`` then poll ``server.url(path)``."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from random import Random
from typing import Any

import aiohttp
from aiohttp import web

from connectors.config import ConnectorSettings
from connectors.fake import FakeClock
from connectors.http import HttpClient
from connectors.polling import PollingConnector
from connectors.registry import build_connector
from connectors.testing import serve_app

__all__ = ["PayloadServer", "payload_server", "START"]

START = datetime(2026, 3, 10, 12, tzinfo=UTC)


@dataclass
class PayloadServer:
    base: str
    http: HttpClient
    clock: FakeClock
    routes: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def put(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> str:
        self.routes[path] = (body, content_type)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def connector(self, table: dict[str, Any]) -> PollingConnector[Any]:
        settings = ConnectorSettings.model_validate({"allow_private_hosts": True, "interval": "5m", **table})
        built = build_connector(settings, self.http, env={})
        assert isinstance(built, PollingConnector)
        return built


@asynccontextmanager
async def payload_server() -> AsyncIterator[PayloadServer]:
    """Serve whatever was ``put``, byte for byte, with its content type (404 otherwise)."""
    clock = FakeClock(START)
    server: PayloadServer | None = None

    async def handle(request: web.Request) -> web.Response:
        assert server is not None
        server.hits.append(request.path_qs)
        found = server.routes.get(request.path)
        if found is None:
            return web.Response(status=404, text="not found")
        body, content_type = found
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    async with serve_app(app) as base, aiohttp.ClientSession() as session:
        server = PayloadServer(base, HttpClient(session, clock=clock.now, sleep=clock.sleep, random=Random(1)), clock)
        yield server
