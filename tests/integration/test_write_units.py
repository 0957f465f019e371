"""Write units (inbox.storage.write_units): a synchronous function's statements as one transaction,
in the writer thread on a SQLite file, through the async engine elsewhere; on SQLite they queue in
the same write gate as the async engine's writers (interactive before bulk, arrival order within
each), and a caller cancelled mid-unit neither stops the transaction nor opens the gate before it
ends."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from inbox.storage.engine import bulk_writer, create_engine
from inbox.storage.write_units import WriteUnits, write_units
from tests.conftest import until


@pytest.fixture
def engine(scratch_sqlite: Any) -> Any:
    return scratch_sqlite


def _insert(c: Connection, *names: str) -> str:
    for n in names:
        c.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
    return threading.current_thread().name


async def _names(engine: Any) -> list[str]:
    async with engine.connect() as conn:
        return [r[0] for r in await conn.execute(text("SELECT name FROM t ORDER BY rowid"))]



async def test_a_unit_commits_all_or_nothing_in_the_writer_thread(engine) -> None:  # type: ignore[no-untyped-def]
    units = write_units(engine)
    assert units is write_units(engine)  # one writer per engine
    assert (await units.run(_insert, "a", "b")).startswith("write-unit")
    with pytest.raises(IntegrityError):
        await units.run(_insert, "c", "a")  # "a" again: the unit's "c" is rolled back with it
    assert await _names(engine) == ["a", "b"]


async def test_postgresql_runs_units_on_the_async_engine(pg_db_url: str) -> None:
    e = create_engine(pg_db_url)
    try:
        async with e.begin() as conn:
            await conn.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
        units = WriteUnits(e)
        assert not units.threaded and units.thread_engine() is None
        assert not (await units.run(_insert, "x")).startswith("write-unit")
        with pytest.raises(IntegrityError):
            await units.run_bulk(_insert, "y", "x")
        async with e.connect() as conn:
            assert [r[0] for r in await conn.execute(text("SELECT name FROM t"))] == ["x"]
    finally:
        await e.dispose()


async def test_units_queue_in_the_engines_write_gate(engine) -> None:  # type: ignore[no-untyped-def]
    """An async batch holds the gate; a bulk unit, then an interactive unit arrive: the interactive
    one goes first when the batch ends, and neither wrote while the batch held SQLite's lock."""
    units = write_units(engine)
    hold = asyncio.Event()
    began = asyncio.Event()

    async def batch() -> None:
        async with bulk_writer(engine).begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES ('batch')"))
            began.set()
            await hold.wait()

    first = asyncio.create_task(batch())
    await began.wait()
    bulk = asyncio.create_task(units.run_bulk(_insert, "bulk unit"))
    await asyncio.sleep(0.05)
    claim = asyncio.create_task(units.run(_insert, "claim unit"))
    await asyncio.sleep(0.05)
    assert not bulk.done() and not claim.done()
    hold.set()
    await asyncio.wait_for(asyncio.gather(first, bulk, claim), 10)
    assert await _names(engine) == ["batch", "claim unit", "bulk unit"]


async def test_a_cancelled_caller_keeps_the_gate_until_its_unit_ends(engine) -> None:  # type: ignore[no-untyped-def]
    units = write_units(engine)
    inside, release = threading.Event(), threading.Event()

    def slow(c: Connection) -> None:
        _insert(c, "slow")
        inside.set()
        release.wait(10)

    task = asyncio.create_task(units.run(slow))
    await until(inside.is_set)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    after = asyncio.create_task(_async_insert(engine, "after"))
    await asyncio.sleep(0.1)
    assert not after.done()  # the unit is still running: the gate is still its
    release.set()
    await asyncio.wait_for(after, 10)
    assert await _names(engine) == ["slow", "after"]  # the cancelled caller's unit committed


async def _async_insert(engine: Any, name: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": name})


async def test_the_registry_does_not_keep_an_engine_alive(tmp_path: Path) -> None:
    """An engine nobody holds any more is collected with its pool, units or not (a service's close
    disposes its engine; a forgotten one must not pin its connections for the process's life)."""
    import gc
    import weakref

    e = create_engine(f"sqlite+aiosqlite:///{tmp_path}/gone.db")
    async with e.begin() as conn:
        await conn.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
    await write_units(e).run(_insert, "x")
    gone = weakref.ref(e)
    await e.dispose()
    del e, conn
    gc.collect()
    assert gone() is None
