"""An exhausted connection pool: a check-out waits at most ``db_pool_timeout`` seconds, and a
request that met it answers 503 with Retry-After (a problem document on the API), not 500."""
from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from connectors.testing import serve_app
from inbox.storage.engine import create_engine, read_conn
from inbox.web.problems import BUSY_RETRY_AFTER, problem_middleware
from tests.conftest import make_settings


async def test_a_checkout_waits_at_most_the_pool_timeout(pg_db_url: str) -> None:
    engine = create_engine(pg_db_url, pool_size=1, pool_timeout=0.2)  # at most two connections
    try:
        async with engine.connect() as a, read_conn(engine) as b:
            await a.execute(text("SELECT 1"))
            await b.execute(text("SELECT 1"))
            with pytest.raises(sa_exc.TimeoutError):
                async with engine.connect() as c:
                    await c.execute(text("SELECT 1"))
        async with read_conn(engine) as c:  # free again
            assert (await c.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_the_setting_reaches_the_pool(tmp_path: Path) -> None:
    from inbox.ops.services import Services
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/inbox.db", tmp_path, db_pool_timeout=2.5)
    svc = await Services.open(settings, check=False)
    try:
        assert svc.engine.sync_engine.pool.timeout() == 2.5
    finally:
        await svc.close()


async def test_a_request_that_found_no_connection_answers_503_at_once() -> None:
    async def busy(_request: web.Request) -> web.Response:
        raise sa_exc.TimeoutError("QueuePool limit of size 1 overflow 1 reached, connection timed out")

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_get("/api/v1/queues", busy)
    app.router.add_get("/queues", busy)
    async with serve_app(app) as base, aiohttp.ClientSession() as s:
        async with s.get(base + "/api/v1/queues") as r:
            assert r.status == 503
            assert r.headers["Retry-After"] == BUSY_RETRY_AFTER
            assert r.content_type == "application/problem+json"
            assert (await r.json())["status"] == 503
        async with s.get(base + "/queues") as r:
            assert r.status == 503
            assert r.headers["Retry-After"] == BUSY_RETRY_AFTER
