"""A write transaction as one unit of work: a synchronous function over a SQLAlchemy ``Connection``
in a transaction, committed when it returns and rolled back when it raises.

Why: on a SQLite file the async engine reaches the database through aiosqlite, which runs each call
(cursor, execute, fetch, close) on its connection's thread and wakes the event loop for each one:
a claim sends six statements, a resolve seven, an ingest batch ten, and each statement costs about
sixteen times its own work in those hand-offs (bench/db_handoff.py). A unit runs the whole
transaction in this process's writer thread on a ``pysqlite`` connection opened like the async
engine's (WAL, foreign keys, busy timeout), beginning with BEGIN IMMEDIATE as the async writers do:
one hand-off per transaction. Its place in the queue for SQLite's one write lock is the same write
gate (inbox.storage.write_gate) the async engine's writers queue in, with the same priorities, so
claims still go ahead of ingest batches whichever path they take; the gate is released when the
transaction has ended, even if the awaiting task was cancelled meanwhile.

On PostgreSQL (and in-memory SQLite, which a second connection cannot share) ``run`` calls the same
function through ``AsyncConnection.run_sync`` in a transaction of the service's own engine, so each
write is written once, as a synchronous function, for both back ends."""
from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.storage.engine import acquire_gate, bulk_writer, write_gate
from inbox.storage.sqlite_threads import SqliteThreads, file_database
from inbox.storage.write_gate import BULK, INTERACTIVE

__all__ = ["WriteUnits", "write_units", "close_write_units"]

P = ParamSpec("P")
T = TypeVar("T")


def _begin_immediate(conn: Connection) -> None:
    # the driver is in autocommit mode (sqlite_pragmas), so this is the transaction's only BEGIN; it
    # takes the write lock up front, as the async engine's writers do (inbox.storage.engine)
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class WriteUnits:
    """Runs write units for one service engine (``write_units(engine)``)."""

    def __init__(self, engine: AsyncEngine, *, slow_ms: int = 0) -> None:
        # a weak reference: the registry below is keyed weakly by the engine, so its value must not
        # keep the engine (and its pooled connections) alive
        self._engine = weakref.ref(engine)
        self.threaded = file_database(engine)
        # one connection, used by the one writer thread: SQLite writes one transaction at a time
        self._threads = SqliteThreads(engine.url, threads=1, name="write-unit", slow_ms=slow_ms,
                                      listeners=[("begin", _begin_immediate)])

    def thread_engine(self) -> Engine | None:
        """The synchronous engine the writer thread runs units on (a SQLite file; made now if need
        be), else None: units then run on the service's own engine."""
        return self._threads.open()[1] if self.threaded else None

    async def run(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(connection, *args, **kwargs)`` in one write transaction, as an interactive writer
        (claims, item changes): committed when it returns, rolled back when it raises."""
        return await self._run(INTERACTIVE, fn, *args, **kwargs)

    async def run_bulk(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """:meth:`run` as a bulk writer (ingest batches): on SQLite it queues behind the interactive
        writers of this process."""
        return await self._run(BULK, fn, *args, **kwargs)

    async def _run(self, priority: int, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        engine = self._engine()
        if engine is None:
            raise RuntimeError("the engine of these write units is gone")
        if not self.threaded:
            async with (bulk_writer(engine) if priority == BULK else engine).begin() as conn:
                return await conn.run_sync(fn, *args, **kwargs)
        executor, sync = self._threads.open()
        gate = write_gate(engine)
        await acquire_gate(gate, priority)
        token = object()
        gate.holder = token

        def call() -> T:
            with sync.begin() as c:
                return fn(c, *args, **kwargs)

        def done(f: asyncio.Future[T]) -> None:
            gate.release_if(token)
            if not f.cancelled():
                f.exception()  # retrieved here when the awaiting task was cancelled meanwhile

        try:
            fut = asyncio.get_running_loop().run_in_executor(executor, call)
        except BaseException:
            gate.release_if(token)
            raise
        fut.add_done_callback(done)
        # shielded: a cancelled caller does not stop a transaction that is running in the thread;
        # the gate opens when that transaction has ended (done), not before
        return await asyncio.shield(fut)

    def close(self) -> None:
        """Stop the writer thread (after the unit running finishes) and close its connection."""
        self._threads.close()


_UNITS: weakref.WeakKeyDictionary[Any, WriteUnits] = weakref.WeakKeyDictionary()  # engine.sync_engine -> its units


def write_units(engine: AsyncEngine, *, slow_ms: int = 0) -> WriteUnits:
    """The write units of ``engine``, made on first use (with ``slow_ms``, as ``create_engine``'s):
    one writer thread and connection per engine, shared by everything that writes through it (work
    service, pipeline)."""
    units = _UNITS.get(engine.sync_engine)
    if units is None:
        units = _UNITS[engine.sync_engine] = WriteUnits(engine, slow_ms=slow_ms)
    return units


def close_write_units(engine: AsyncEngine) -> None:
    """Close ``engine``'s write units, if any were made (before the engine is disposed)."""
    units = _UNITS.pop(engine.sync_engine, None)
    if units is not None:
        units.close()
