"""``db.read_conn``: the page views' reads return the same rows through it as through the engine
(on SQLite it is a plain sqlite3 connection on the loop's thread, ``repo._direct``), and it
refuses to write."""
from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from connectors.base import Mention
from inbox.domain import credentials
from inbox.storage.engine import read_conn, reader
from inbox.storage.repo import accounts, items, page_reads
from inbox.storage.repo._common import T_ITEM
from inbox.storage.repo._direct import DirectSqliteConnection
from inbox.storage.tables import ItemStatus


async def _seed(services: Any) -> tuple[list[int], int, str]:
    ms = [Mention(source="d", platform="t", external_id=f"d{i}", language="en", text=f"order broken refund {i}",
                  thread_id="d0" if i % 3 == 0 else None, reply_to_id="d1" if i % 4 == 0 else None,
                  author_handle=f"a{i}", url=f"https://x.example/{i}") for i in range(30)]
    ms.append(Mention(source="d", platform="t", external_id="hr1", language="en", text="job opening for me?"))
    res = await services.pipeline.ingest(ms)
    now = services.clock.now()
    async with services.engine.begin() as conn:
        uid = (await accounts.add_user("dr", "agent", ["customer_care"], None, conn=conn, now=now)).id
        token = credentials.new_token()
        await accounts.add_token(uid, credentials.token_hash(token), conn=conn, now=now)
        for k, i in enumerate(res.item_ids[:30]):
            await items.update_item(i, {"priority": k % 4, "first_response_due": None if k % 5 == 0 else
                                        now + timedelta(minutes=k), "watchers": ["marketing"] if k % 7 == 0 else [],
                                        "status": ItemStatus.CLAIMED if k % 6 == 0 else ItemStatus.NEW,
                                        "assignee_id": uid if k % 6 == 0 else None}, conn=conn)
        await conn.execute(update(T_ITEM).where(T_ITEM.c.id == res.item_ids[1]).values(team="marketing"))
    return list(res.item_ids), uid, token


async def _reads(conn: Any, ids: list[int], uid: int, token: str, now: Any) -> list[Any]:
    out: list[Any] = [await page_reads.queue_page("customer_care", conn=conn, statuses=(ItemStatus.NEW,), limit=51),
                      await page_reads.queue_page("customer_care", conn=conn, limit=10, offset=5),
                      await page_reads.my_items(uid, conn=conn, teams=["customer_care"]),
                      await page_reads.team_counts("customer_care", conn=conn, now=now),
                      await accounts.user_by_token(credentials.token_hash(token), conn=conn),
                      await accounts.user_by_token("nope", conn=conn),
                      await accounts.get_user("dr", conn=conn)]
    for i in (*ids, 10**9):
        for teams in (None, ["customer_care"], ["marketing"], ["hr"]):
            out.append(await items.get_item(i, conn=conn, teams=teams))
        m = await items.mention_row(i, conn=conn)
        out += [await items.events_for(i, conn=conn), await items.decision_for(i, conn=conn), m]
        if m:
            out.append(await page_reads.thread_items(i, m["thread_id"], m["reply_to_id"], m["source"], conn=conn,
                                                teams=["customer_care"]))
    return out


async def test_read_conn_returns_the_same_rows_as_the_engine(services: Any) -> None:
    """Queue pages, items (with the access rule's team filter), events, decisions, mentions,
    threads, counts and credential lookups are equal through read_conn and through the engine."""
    ids, uid, token = await _seed(services)
    now = services.clock.now()
    async with reader(services.engine).connect() as conn:
        want = await _reads(conn, ids, uid, token, now)
    compiled = []
    for _ in range(2):  # the second time from the compiled-statement cache
        async with read_conn(services.engine) as conn:
            if services.engine.dialect.name == "sqlite":
                assert isinstance(conn, DirectSqliteConnection)
            got = await _reads(conn, ids, uid, token, now)
            compiled.append(len(getattr(conn, "_compiled", ())))
        assert got == want
    # the hot reads' statements are built once: the second pass compiles nothing new (a statement
    # built per call, such as a queue page's, was compiled on every page view: 5 ms of CPU each)
    assert compiled[0] == compiled[1]
    assert any(want[0]) and want[2] and want[4] is not None and want[5] is None


async def test_direct_reader_refuses_writes(sqlite_url: str, settings_factory: Any) -> None:
    """The direct SQLite connection is read-only (PRAGMA query_only)."""
    from inbox.ops.services import Services
    svc = await Services.open(settings_factory(sqlite_url))
    try:
        await svc.init_schema()
        async with read_conn(svc.engine) as conn:
            assert isinstance(conn, DirectSqliteConnection)
            with pytest.raises(sqlite3.OperationalError):
                await conn.execute(update(T_ITEM).values(priority=1))
    finally:
        await svc.close()


async def test_direct_reader_serves_each_thread_its_own_connection(sqlite_url: str, settings_factory: Any) -> None:
    """An event loop in another thread (a CLI or test helper) reads through its own sqlite3
    connection instead of failing on the loop thread's."""
    import asyncio

    from inbox.ops.services import Services
    svc = await Services.open(settings_factory(sqlite_url))
    try:
        await svc.init_schema()

        async def teams() -> Any:
            async with read_conn(svc.engine) as conn:
                return await accounts.get_user("nobody", conn=conn)

        here = await teams()
        there = await asyncio.to_thread(asyncio.run, teams())
        assert here is None and there is None
    finally:
        await svc.close()


async def test_a_read_that_holds_the_loop_too_long_is_logged(sqlite_url: str, settings_factory: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A direct read slower than SLOW_READ_MS logs direct_read_slow with its statement."""
    from structlog.testing import capture_logs

    from inbox.ops.services import Services
    from inbox.storage.repo import _direct
    monkeypatch.setattr(_direct, "SLOW_READ_MS", -1.0)  # every read counts as slow
    svc = await Services.open(settings_factory(sqlite_url))
    try:
        await svc.init_schema()
        with capture_logs() as logs:
            async with read_conn(svc.engine) as conn:
                await accounts.get_user("nobody", conn=conn)
        slow = [e for e in logs if e["event"] == "direct_read_slow"]
        assert slow and "user_account" in slow[0]["statement"] and slow[0]["rows"] == 0
    finally:
        await svc.close()


async def test_long_reads_go_through_the_engine(sqlite_url: str, settings_factory: Any) -> None:
    """read_conn(long=True) (a deep page) gives an engine connection, off the event loop."""
    from sqlalchemy.ext.asyncio import AsyncConnection

    from inbox.ops.services import Services
    svc = await Services.open(settings_factory(sqlite_url))
    try:
        await svc.init_schema()
        async with read_conn(svc.engine, long=True) as conn:
            assert isinstance(conn, AsyncConnection)
            assert await page_reads.queue_page("customer_care", conn=conn, offset=5000) == []
    finally:
        await svc.close()
