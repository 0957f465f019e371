"""A page's reads as one unit (inbox.storage.read_units): on a SQLite file the queue, item and
search pages read through the unit's engine in a worker thread, none of their reads through the
async engine's driver thread; on PostgreSQL the same functions run on the service's engine. The
pages show the same either way, a unit cannot write, and in-memory SQLite runs units on the
service's own engine."""
from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from connectors.base import Mention
from inbox.storage.read_units import ReadUnits
from inbox.web.testing import SeedUser, seed_users, web_login
from tests.conftest import live_server


@pytest.fixture(params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    async def seed(svc: Any) -> dict[str, Any]:
        await seed_users(svc, (SeedUser("carla", "agent", ("customer_care",)),))
        res = await svc.pipeline.ingest([Mention(source="t", platform="t", external_id=f"m{i}", author_handle="ann",
                                                 text=f"my order {i} is broken, refund") for i in range(3)])
        return {"items": res.item_ids}

    with live_server(request.param, tmp_path, seed) as srv:
        yield srv


def _pages(srv: Any, paths: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Each path's page (its item links and title) and the SQL the service's async engine sent for it,
    fetched twice (the second time, with what the first one put in caches, is what is returned)."""
    sent: list[str] = []

    def capture(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if "control_message" not in statement:  # the control channel's poll runs meanwhile
            sent.append(statement)

    async def fetch() -> dict[str, tuple[list[str], list[str]]]:
        out = {}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            await web_login(s, srv.url, "carla")
            for path in paths:
                for _ in range(2):
                    sent.clear()
                    async with s.get(srv.url + path) as r:
                        assert r.status == 200, (path, r.status)
                        body = await r.text()
                shown = re.findall(r'href="(/items/\d+)"', body) + re.findall(r"<title>([^<]*)</title>", body)
                out[path] = (shown, list(sent))
        return out

    event.listen(srv.svc.engine.sync_engine, "before_cursor_execute", capture)
    try:
        return asyncio.run(fetch())
    finally:
        event.remove(srv.svc.engine.sync_engine, "before_cursor_execute", capture)


def test_pages_read_in_one_unit(live: Any) -> None:
    first = live.seeded["items"][0]
    got = _pages(live, ["/queues/customer_care", f"/items/{first}", "/search?q=refund"])
    queue, item, found = got["/queues/customer_care"], got[f"/items/{first}"], got["/search?q=refund"]
    assert sorted(set(queue[0]) - {queue[0][-1]}) == sorted(f"/items/{i}" for i in live.seeded["items"])
    assert item[0][-1] and found[0].count(f"/items/{first}") >= 1
    searched = [s for s in found[1] if "mention_fts" in s or "search_vector" in s]
    if live.svc.reads.threaded:  # SQLite file: the pages' reads never reach the async engine
        assert (queue[1], item[1], searched) == ([], [], []), (queue[1], item[1], searched)
    else:  # PostgreSQL: the same reads, through the service's engine
        assert queue[1] and item[1] and searched


async def test_a_unit_cannot_write_and_runs_in_a_worker_thread(sqlite_url: str, settings_factory: Any) -> None:
    from tests.conftest import open_services
    svc = await open_services(settings_factory(sqlite_url))
    try:
        assert svc.reads.threaded

        def who(c: Connection) -> tuple[str, int]:
            return threading.current_thread().name, int(c.execute(text("SELECT count(*) FROM mention")).scalar_one())

        name, n = await svc.reads.run(who)
        assert name.startswith("read-unit") and n == 0

        def write(c: Connection) -> None:
            c.execute(text("INSERT INTO login_throttle (key, failures) VALUES ('x', 1)"))

        with pytest.raises(OperationalError, match="readonly"):
            await svc.reads.run(write)
    finally:
        await svc.close()


async def test_in_memory_sqlite_runs_units_on_the_service_engine() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine
    engine = create_async_engine("sqlite+aiosqlite://")
    reads = ReadUnits(engine)
    try:
        assert not reads.threaded
        assert await reads.run(lambda c, x: c.execute(text("SELECT :x"), {"x": x}).scalar_one(), 7) == 7
    finally:
        reads.close()
        await engine.dispose()
