"""Engine creation for SQLite (WAL, foreign keys, busy timeout) and PostgreSQL (asyncpg)."""
from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import structlog
from sqlalchemy import Engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from inbox.storage.column_types import json_text
from inbox.storage.write_gate import BULK, INTERACTIVE, WriteGate

__all__ = ["create_engine", "is_sqlite", "sqlite_path", "reader", "snapshot_reader", "bulk_writer", "autocommit",
           "read_conn", "sqlite_pragmas", "log_slow_statements", "SQLITE_BUSY_TIMEOUT_MS", "write_gate", "acquire_gate",
           "BULK_WRITE"]

log = structlog.get_logger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection idle for longer than this is pinged before use (see _checkout_check)
PING_IDLE_SECONDS = 5.0
# how long a check-out waits for a pooled connection (settings.db_pool_timeout): SQLAlchemy's default
POOL_TIMEOUT_SECONDS = 30.0
_CHECKED_IN = "inbox_checked_in_at"
_STARTED = "inbox_statement_started"


def is_sqlite(url_or_engine: str | AsyncEngine) -> bool:
    name = (
        url_or_engine.dialect.name
        if isinstance(url_or_engine, AsyncEngine)
        else make_url(url_or_engine).get_backend_name()
    )
    return name == "sqlite"


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """A new SQLite connection's settings: WAL, foreign keys, busy timeout, synchronous=NORMAL."""
    # per connection; autocommit at the driver level, so that only _sqlite_begin and
    # _sqlite_end open and close transactions (SQLAlchemy's recipe for pysqlite and aiosqlite)
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front: a writer never upgrades a read lock, so two
    # writers queue on busy_timeout instead of failing with SQLITE_BUSY mid-transaction. Read-only
    # work takes no write lock, so page views neither queue behind each other nor behind ingest and
    # claims (WAL readers never block): ``reader`` begins nothing (the driver is in autocommit mode,
    # so each statement reads its own snapshot, as on PostgreSQL, and the BEGIN's trip to the
    # driver's thread is saved), ``snapshot_reader`` begins DEFERRED (one snapshot).
    opts = conn.get_execution_options()
    if opts.get(READ_ONLY):
        if opts.get(SNAPSHOT):
            conn.exec_driver_sql("BEGIN")
        return
    # Writers of this process first queue in its write gate (inbox.storage.write_gate): in order, claims
    # ahead of ingest batches, instead of all retrying in SQLite's busy handler.
    adapted = conn.connection.dbapi_connection
    gate = _gate(conn.engine.pool)
    if gate.holder is not adapted:
        priority = BULK if opts.get(BULK_WRITE) else INTERACTIVE
        # run_async: the documented way to await from a synchronous event of an asyncio engine
        adapted.run_async(lambda _driver: acquire_gate(gate, priority))
        gate.holder = adapted
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        gate.release_if(adapted)
        raise


def _sqlite_commit(conn: Any) -> None:
    # COMMIT here, then open the gate, so the next writer's BEGIN IMMEDIATE finds SQLite's lock
    # free; the driver's own commit() that follows finds no open transaction and does nothing
    try:
        conn.exec_driver_sql("COMMIT")
    finally:
        if not conn.invalidated:  # else the pool's invalidate event released it (see _sqlite_rollback)
            _release_gate(conn.engine.pool, conn.connection.dbapi_connection)


def _sqlite_rollback(conn: Any) -> None:
    # the driver's rollback() follows this event; a ROLLBACK cannot meet a lock, so the next
    # writer's BEGIN IMMEDIATE waits at most for that statement. An invalidated connection (a
    # statement cancelled mid-way) has no DBAPI connection to name, and asking for it would raise
    # over the error being rolled back: the pool's invalidate event has released its gate already.
    if conn.invalidated:
        return
    _release_gate(conn.engine.pool, conn.connection.dbapi_connection)


_GATES: WeakKeyDictionary[Any, dict[Any, WriteGate]] = WeakKeyDictionary()  # pool -> event loop -> gate


def _gate(pool: Any) -> WriteGate:
    per_loop = _GATES.setdefault(pool, {})
    loop = asyncio.get_running_loop()
    gate = per_loop.get(loop)
    if gate is None:
        for old in [k for k in per_loop if k.is_closed()]:
            del per_loop[old]
        gate = per_loop[loop] = WriteGate()
    return gate


def write_gate(engine: AsyncEngine) -> WriteGate:
    """The process's write gate of ``engine``'s SQLite database on the running event loop: the one
    its write transactions queue in, for writers that reach the same file by another connection
    (inbox.storage.write_units)."""
    return _gate(engine.sync_engine.pool)


async def acquire_gate(gate: WriteGate, priority: int) -> None:
    """Wait for ``gate`` as long as SQLite's busy handler would wait for the lock, then fail as it does."""
    try:
        await asyncio.wait_for(gate.acquire(priority), SQLITE_BUSY_TIMEOUT_MS / 1000)
    except TimeoutError:
        raise exc.OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
            "database is locked (waited for this process's write gate)")) from None


def _release_gate(pool: Any, dbapi_conn: Any) -> None:
    per_loop = _GATES.get(pool)
    if per_loop:
        for gate in per_loop.values():
            gate.release_if(dbapi_conn)


def _install_write_gate(engine: AsyncEngine) -> None:
    """Acquire the gate when a write transaction begins; release it when its COMMIT has run or its
    ROLLBACK begins, and whenever its connection leaves use (check-in, invalidation, close), so an
    error path never leaves it held."""
    sync = engine.sync_engine
    pool = sync.pool
    event.listen(sync, "begin", _sqlite_begin)
    event.listen(sync, "commit", _sqlite_commit)
    event.listen(sync, "rollback", _sqlite_rollback)
    for name in ("checkin", "invalidate", "soft_invalidate", "close", "detach"):
        event.listen(pool, name, lambda dbapi_conn, *_a, **_k: _release_gate(pool, dbapi_conn))


READ_ONLY = "inbox_read_only"
SNAPSHOT = "inbox_snapshot"
BULK_WRITE = "inbox_bulk_write"
_VARIANTS: WeakKeyDictionary[Any, dict[str, AsyncEngine]] = WeakKeyDictionary()


def _variant(engine: AsyncEngine, name: str, opts: dict[str, Any]) -> AsyncEngine:
    """``engine`` with execution options ``opts``, sharing its pool; made once per engine and name."""
    per_engine = _VARIANTS.setdefault(engine.sync_engine, {})
    found = per_engine.get(name)
    if found is None:
        found = per_engine[name] = engine.execution_options(**opts)
    return found


def bulk_writer(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` for bulk writes (ingest batches), sharing its pool: on SQLite their transactions
    queue in the process's write gate behind the interactive ones (claims, resolves, jobs)."""
    return _variant(engine, "bulk", {BULK_WRITE: True})


def reader(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` for read-only work, sharing its pool: no BEGIN, each statement reads its own
    snapshot (PostgreSQL: autocommit, so no BEGIN and ROLLBACK round trips; SQLite: no transaction
    opened, so no write lock and no BEGIN). Writing through it is a bug: on SQLite it may fail with
    SQLITE_BUSY instead of waiting for the lock."""
    opts: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        opts["isolation_level"] = "AUTOCOMMIT"
    return _variant(engine, "reader", opts)


def snapshot_reader(engine: AsyncEngine) -> AsyncEngine:
    """Read-only work that needs one transaction on both back ends (one snapshot, a server-side
    cursor, SET LOCAL): on SQLite a deferred transaction (no write lock), on PostgreSQL the engine
    itself (a transaction, where ``reader`` would be autocommit)."""
    if engine.dialect.name == "sqlite":
        return _variant(engine, "snapshot", {READ_ONLY: True, SNAPSHOT: True})
    return engine


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` whose connections run outside a transaction, each statement committing on its own
    (PostgreSQL: the one-statement claims and changes of repo.claims), sharing its pool."""
    return _variant(engine, "autocommit", {"isolation_level": "AUTOCOMMIT"})


@asynccontextmanager
async def read_conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for the request path's reads (the repository functions taking ``conn``), as
    ``reader`` gives: each statement reads its own snapshot, without the write lock. On PostgreSQL
    the isolation level is set on the checked-out connection (SQLAlchemy restores it at check-in;
    asyncpg needs no round trip for either) instead of taken from ``reader``'s variant engine,
    whose isolation-level listener makes every event of its connections dispatch (as
    repo.claims.connection does for the claims)."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
        return
    async with reader(engine).connect() as conn:
        yield conn


def create_engine(url: str, *, pool_size: int = 5, echo: bool = False, ping_idle: float = PING_IDLE_SECONDS,
                  slow_ms: int = 0, pool_timeout: float = POOL_TIMEOUT_SECONDS) -> AsyncEngine:
    """An AsyncEngine for ``url``; creates the SQLite file's folder when needed. PostgreSQL pool
    connections idle for ``ping_idle`` seconds or more are pinged before use (0: always). A
    statement taking ``slow_ms`` or longer is logged (0: never). A check-out waits at most
    ``pool_timeout`` seconds for a connection, then raises ``sqlalchemy.exc.TimeoutError``."""
    engine = _create_engine(url, pool_size=pool_size, echo=echo, ping_idle=ping_idle, pool_timeout=pool_timeout)
    if slow_ms > 0:
        log_slow_statements(engine, slow_ms)
    return engine


def log_slow_statements(engine: AsyncEngine | Engine, slow_ms: int) -> None:
    """Log each statement that takes ``slow_ms`` or longer as ``db_slow_statement``, with its
    duration, row count and the statement's start (no parameters: they may hold mention text).
    The time includes waiting for the driver's thread and, for SQLite's BEGIN IMMEDIATE, for the
    write lock, which is what a caller waits for."""
    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync, "before_cursor_execute")
    def _start(conn: Any, _cursor: Any, _stmt: Any, _params: Any, context: Any, _many: bool) -> None:
        if context is not None:
            conn.info.setdefault(_STARTED, []).append(time.perf_counter())

    @event.listens_for(sync, "after_cursor_execute")
    def _end(conn: Any, cursor: Any, statement: str, _params: Any, context: Any, many: bool) -> None:
        started = conn.info.get(_STARTED)
        if context is None or not started:
            return
        t0 = started.pop()
        ms = (time.perf_counter() - t0) * 1000.0
        if ms >= slow_ms:
            log.warning("db_slow_statement", ms=round(ms, 1), rows=getattr(cursor, "rowcount", None),
                        many=many, statement=" ".join(statement.split())[:300])


def _create_engine(url: str, *, pool_size: int, echo: bool, ping_idle: float, pool_timeout: float) -> AsyncEngine:
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                                     json_serializer=json_text, pool_timeout=pool_timeout)
        sync = engine.sync_engine
        event.listen(sync, "connect", sqlite_pragmas)
        _install_write_gate(engine)
        return engine
    # All 2 x pool_size connections are kept once opened (no overflow): an overflow connection is
    # closed when it is returned to a full pool, and under a steady load the pool then opens and
    # closes connections many times a second. Each new PostgreSQL connection costs a backend
    # start and loses the prepared statements (and their cached plans) of the one before.
    engine = create_async_engine(url, echo=echo, pool_size=2 * pool_size, max_overflow=0,
                                 json_serializer=json_text, pool_timeout=pool_timeout)
    _ping_when_idle(engine, ping_idle)
    return engine


def _ping_when_idle(engine: AsyncEngine, ping_idle: float) -> None:
    """A cheaper pool_pre_ping. asyncpg's ping costs three round trips (BEGIN, ";", ROLLBACK) on every
    checkout, more than a claim's own statements. Instead, on checkout: a connection the server
    closed (a restart, a terminated backend) is replaced without a round trip, since asyncpg sees the
    socket close; one idle in the pool for more than ``ping_idle`` seconds (silently dropped by a
    firewall, say) is pinged first, and replaced when the ping fails. ``ping_idle=0`` pings on every
    checkout, as pool_pre_ping does."""
    sync = engine.sync_engine

    @event.listens_for(sync, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(sync, "checkout")
    def _checkout_check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if dbapi_conn.driver_connection.is_closed():
            raise exc.DisconnectionError("connection closed by the server")  # the pool connects anew
        since = record.info.get(_CHECKED_IN)
        if since is not None and time.monotonic() - since >= ping_idle:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as e:
                raise exc.DisconnectionError(f"ping failed: {e}") from e
