"""The PostgreSQL pool's checkout check (inbox.storage.engine): connections the server closed are replaced
without an error, and idle ones are pinged first, so that dropping pool_pre_ping costs no
robustness after a server restart."""
from __future__ import annotations

import asyncio
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.storage.engine import create_engine
from tests.conftest import PG_ADMIN_DSN

pytestmark = pytest.mark.postgres


async def _backend(engine: AsyncEngine) -> tuple[int, Any]:
    """The server pid of the connection a checkout hands out, and its asyncpg connection."""
    async with engine.connect() as conn:
        pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        return pid, (await conn.get_raw_connection()).driver_connection


async def _terminate(pid: int) -> None:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_the_server_closed_is_replaced_at_checkout(pg_db_url: str) -> None:
    """After its backend is terminated, the pooled connection is not handed out again: the next use works."""
    engine = create_engine(pg_db_url, pool_size=1, ping_idle=3600)
    try:
        pid, pooled = await _backend(engine)
        await _terminate(pid)
        while not pooled.is_closed():  # asyncpg sees the socket close within a few turns of the loop
            await asyncio.sleep(0.01)
        assert (await _backend(engine))[0] != pid
    finally:
        await engine.dispose()


async def test_only_connections_idle_for_ping_idle_are_pinged_and_a_failed_ping_replaces_one(
        pg_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection back in the pool for less than ping_idle is handed out without a ping; with
    ping_idle=0 every reuse pings, as pool_pre_ping did, and a failed ping means a new connection."""
    for ping_idle, pings_expected in ((3600.0, 0), (0.0, 2)):
        engine = create_engine(pg_db_url, pool_size=1, ping_idle=ping_idle)
        pings: list[int] = []
        do_ping = engine.dialect.do_ping

        def counting_ping(dbapi_conn: Any, do_ping: Any = do_ping, pings: list[int] = pings) -> bool:
            pings.append(1)
            if len(pings) == 2:
                raise OSError("connection reset")  # as a ping on a silently dropped connection fails
            return bool(do_ping(dbapi_conn))

        monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
        try:
            first, _ = await _backend(engine)  # a new connection: no ping
            again, _ = await _backend(engine)  # reused: pinged when ping_idle is 0
            third, _ = await _backend(engine)  # the ping fails: a new connection
            assert len(pings) == pings_expected
            assert (again == first, third == first) == ((True, True) if ping_idle else (True, False))
        finally:
            await engine.dispose()


async def test_the_pool_keeps_every_connection_it_opened(pg_db_url: str) -> None:
    """A pool of 2 x db_pool_size connections, all kept once opened: an overflow connection closed
    when it came back made a loaded server open and close backends many times a second, each
    losing its prepared statements' plans."""
    engine = create_engine(pg_db_url, pool_size=2)

    async def pids(n: int) -> set[int]:
        async def one(ready: asyncio.Barrier) -> int:
            async with engine.connect() as conn:
                pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                await ready.wait()  # all n connections are checked out at once
                return pid
        barrier = asyncio.Barrier(n)
        return set(await asyncio.gather(*(one(barrier) for _ in range(n))))

    try:
        first = await pids(4)
        assert len(first) == 4
        assert await pids(4) == first  # the same four backends: none was closed and reopened
    finally:
        await engine.dispose()
