"""A page's reads as one unit of work: a synchronous function over a SQLAlchemy ``Connection``,
run with one hand-off from the event loop however many statements it sends.

Why: on SQLite the async engine reaches the database through aiosqlite, which runs each call
(cursor, execute, fetch, close) on its own thread and wakes the event loop for each one: about four
thread hand-offs per statement, and an item page sends about ten statements. Handing the whole
page's reads to a worker thread once, where they run on a connection of a synchronous engine of the
same database, costs one hand-off per page. Both are SQLAlchemy's public API; the statements are
the same objects, compiled by the same dialect family, so every repository read is written once,
as a synchronous function, and:

- on a SQLite file, ``run`` calls it in a worker thread on a pooled connection of a ``pysqlite``
  engine opened like the async one (WAL, busy timeout; autocommit, so each statement reads its
  own snapshot and no write lock is ever taken), plus ``PRAGMA query_only``: a unit cannot write;
- on PostgreSQL (and in-memory SQLite, which a second engine cannot share), ``run`` calls it
  through ``AsyncConnection.run_sync`` on a read connection of the service's own engine, as any
  other read; nothing blocks the event loop in either case.

Writes keep the async engine and its SQLite write gate (inbox.storage.engine)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.storage.engine import read_conn
from inbox.storage.sqlite_threads import SqliteThreads, file_database

__all__ = ["ReadUnits", "UNIT_THREADS"]

P = ParamSpec("P")
T = TypeVar("T")

UNIT_THREADS = 2
"""Worker threads (and pooled SQLite connections) for read units: two pages read at once, one
thread's SQLite work (done without the GIL) overlapping the other's result rows (done with it).
More threads add no CPU to use but more takers of the GIL: with four, under bench/api.py's load on
a 2-vCPU host, the event loop's thread waited behind them, requests queued, and the server spent
more CPU per request on the switching (bench/RESULTS.md, "Read-unit threads")."""


def _query_only(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=1")
    cur.close()


class ReadUnits:
    """Runs read units for one service engine (``Services.reads``)."""

    def __init__(self, engine: AsyncEngine, *, slow_ms: int = 0, threads: int = UNIT_THREADS) -> None:
        self.engine = engine
        self.threaded = file_database(engine)
        self._threads = SqliteThreads(engine.url, threads=threads, name="read-unit", slow_ms=slow_ms,
                                      listeners=[("connect", _query_only)])

    @property
    def thread_engine(self) -> Engine | None:
        """The synchronous engine units run on in worker threads (a SQLite file), once one has run."""
        return self._threads.engine

    async def run(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(connection, *args, **kwargs)``: its statements read the database as ``read_conn``
        does (each its own snapshot, no write lock); it must not write."""
        if not self.threaded:
            async with read_conn(self.engine) as conn:
                return await conn.run_sync(fn, *args, **kwargs)
        executor, sync = self._threads.open()

        def call() -> T:
            with sync.connect() as c:
                return fn(c, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(executor, call)

    def close(self) -> None:
        """Stop the worker threads (after the units running finish) and close the connections."""
        self._threads.close()
