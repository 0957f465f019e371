"""SQLite's write lock through the process's write gate (inbox.storage.engine, inbox.storage.write_gate): while an
ingest
batch writes, a claim that arrives after another batch gets the lock before that batch; a
transaction that fails, or a task cancelled inside one, hands the lock on."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from inbox.storage.engine import bulk_writer, reader
from tests.conftest import until


@pytest.fixture
def engine(scratch_sqlite: Any) -> Any:
    return scratch_sqlite


async def _write(engine, name: str, order: list[str], hold: asyncio.Event | None = None) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": name})
        order.append(name)
        if hold is not None:
            await hold.wait()



async def test_a_claim_goes_before_a_queued_batch(engine) -> None:  # type: ignore[no-untyped-def]
    order: list[str] = []
    hold = asyncio.Event()
    bulk = bulk_writer(engine)
    first = asyncio.create_task(_write(bulk, "batch1", order, hold))
    await until(lambda: order == ["batch1"])
    second = asyncio.create_task(_write(bulk, "batch2", order))
    await asyncio.sleep(0.05)
    claim = asyncio.create_task(_write(engine, "claim", order))
    await asyncio.sleep(0.05)
    assert order == ["batch1"]                    # both wait
    async with reader(engine).connect() as conn:  # readers never wait for the gate
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    hold.set()
    await asyncio.wait_for(asyncio.gather(first, second, claim), 10)
    assert order == ["batch1", "claim", "batch2"]
    async with engine.connect() as conn:
        names = [r[0] for r in await conn.execute(text("SELECT name FROM t ORDER BY rowid"))]
    assert names == ["batch1", "claim", "batch2"]


async def test_failure_and_cancellation_hand_the_lock_on(engine) -> None:  # type: ignore[no-untyped-def]
    order: list[str] = []
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES ('rolled back')"))
            raise RuntimeError("a failure inside the transaction")
    hold = asyncio.Event()
    stuck = asyncio.create_task(_write(engine, "cancelled", order, hold))
    await until(lambda: order == ["cancelled"])
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    await asyncio.wait_for(_write(bulk_writer(engine), "after", order), 10)
    async with engine.connect() as conn:
        names = [r[0] for r in await conn.execute(text("SELECT name FROM t"))]
    assert names == ["after"]


async def test_an_invalidated_write_keeps_its_own_error_and_frees_the_lock(engine) -> None:  # type: ignore[no-untyped-def]
    """A write whose connection is invalidated mid-transaction (a statement cancelled under it)
    fails with its own error, not with the rollback's complaint about the invalid connection, and
    the next writer gets the lock."""
    with pytest.raises(ValueError, match="the write's own error"):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES ('lost')"))
            await conn.invalidate()
            raise ValueError("the write's own error")
    await asyncio.wait_for(_write(engine, "next", []), 5)
    async with reader(engine).connect() as conn:
        assert (await conn.execute(text("SELECT name FROM t"))).scalars().all() == ["next"]
