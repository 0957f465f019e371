"""A SQLite file's second way in: a synchronous ``pysqlite`` engine of the same file, opened like the
async engine's connections (WAL, foreign keys, busy timeout), and the worker threads that use it.
Read units (inbox.storage.read_units) and write units (inbox.storage.write_units) each own one,
opened on first use."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.storage.column_types import json_text
from inbox.storage.engine import SQLITE_BUSY_TIMEOUT_MS, is_sqlite, log_slow_statements, sqlite_pragmas

__all__ = ["SqliteThreads", "file_database"]


def file_database(engine: AsyncEngine) -> bool:
    """Whether ``engine`` is a SQLite file, which a second engine can reach (in-memory SQLite is not)."""
    url = engine.url
    return is_sqlite(engine) and bool(url.database) and url.database != ":memory:"


class SqliteThreads:
    """``threads`` worker threads named ``name`` and a pool of as many connections to the file at
    ``url``; ``listeners`` are (event, function) pairs added to the engine ("connect" ones run
    after the pragmas)."""

    def __init__(self, url: URL, *, threads: int, name: str, slow_ms: int = 0,
                 listeners: Sequence[tuple[str, Callable[..., Any]]] = ()) -> None:
        self._url = url.set(drivername="sqlite+pysqlite")
        self._threads = threads
        self._name = name
        self._slow_ms = slow_ms
        self._listeners = tuple(listeners)
        self._engine: Engine | None = None
        self._executor: ThreadPoolExecutor | None = None

    def open(self) -> tuple[ThreadPoolExecutor, Engine]:
        """The threads and the engine, made on the first call."""
        if self._engine is None or self._executor is None:
            engine = create_sync_engine(self._url, json_serializer=json_text, pool_size=self._threads,
                                        max_overflow=0, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                                      "check_same_thread": False})
            event.listen(engine, "connect", sqlite_pragmas)
            for name, fn in self._listeners:
                event.listen(engine, name, fn)
            if self._slow_ms > 0:
                log_slow_statements(engine, self._slow_ms)
            self._engine = engine
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix=self._name)
        return self._executor, self._engine

    @property
    def engine(self) -> Engine | None:
        """The engine, once opened."""
        return self._engine

    def close(self) -> None:
        """Stop the threads (after the work running finishes) and close the connections."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
