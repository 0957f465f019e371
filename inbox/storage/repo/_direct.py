"""Read-only Core statements run synchronously on a plain ``sqlite3`` connection, for the page views.

Through SQLAlchemy's aiosqlite adapter every statement costs four thread hand-offs (cursor, execute,
fetchall, close), each a GIL hand-off between the event loop and aiosqlite's thread, plus a pool
checkout, a BEGIN and a ROLLBACK per ``connect()``: on a queue page that was most of the server's
CPU (bench/api.py). The hot reads are indexed lookups of a few rows that take well under a
millisecond, less than one hand-off, so they run right on the loop thread on a second, read-only
connection to the same WAL database: no thread, no hand-off, no pool.

Semantics are those of the PostgreSQL reader (``inbox.storage.engine.reader``): autocommit, each statement
reads its own snapshot; WAL readers never wait for the writer. Statements are compiled once per
statement object (and per value of any ``literal_execute``/expanding parameter, which SQLAlchemy
renders into the SQL), with the same bind and result type processing as SQLAlchemy's execution
(UTC datetimes, JSON), so callers get rows with the same values and keys. Anything else should use
the engine: this connection refuses to write (``PRAGMA query_only``)."""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson
import structlog
from sqlalchemy import JSON
from sqlalchemy.engine import Dialect

from inbox.storage.column_types import UTCDateTime

__all__ = ["DirectSqliteConnection", "DirectResult", "DirectRow"]

log = structlog.get_logger(__name__)

# a reader waits this long for a lock (only WAL recovery or a checkpoint's reset takes one): short,
# since it blocks the event loop meanwhile
BUSY_TIMEOUT_MS = 200
# a read that held the event loop longer than this is logged (the loop serves nothing meanwhile)
SLOW_READ_MS = 20.0


Processor = Callable[[Any], Any]


def _fast_processor(type_: Any, dialect: Dialect) -> Processor | None:
    """SQLAlchemy's result processor for ``type_``, or an equivalent cheaper one for the types
    of most values on a page: UTC timestamps (stored as naive UTC text, one C call instead of a
    regex, a constructor and a replace) and JSON (orjson). Any value they do not recognise goes
    to SQLAlchemy's processor, so the result is the same either way (tests/integration/test_direct_reader.py)."""
    slow = type_._cached_result_processor(dialect, None)
    if isinstance(type_, UTCDateTime):
        def utc(value: Any, _slow: Any = slow, _parse: Any = datetime.fromisoformat) -> Any:
            if value is None:
                return None
            try:
                return _parse(value + "+00:00")
            except (TypeError, ValueError):
                return _slow(value)
        return utc
    if isinstance(type_, JSON) and type(type_) is JSON and slow is not None:
        def js(value: Any, _slow: Any = slow, _loads: Any = orjson.loads) -> Any:
            if value is None:
                return None
            try:
                return _loads(value)
            except (TypeError, orjson.JSONDecodeError):
                return _slow(value)
        return js
    return slow  # type: ignore[no-any-return]


class DirectRow(tuple):  # type: ignore[type-arg]
    """A result row: a tuple with SQLAlchemy's ``_mapping`` (column key -> value)."""

    __slots__ = ()
    _keys: tuple[str, ...] = ()

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._keys, self, strict=True))


class DirectResult:
    """The subset of SQLAlchemy's ``Result`` the repository's reads use."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[DirectRow]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[DirectRow]:
        return iter(self._rows)

    def all(self) -> list[DirectRow]:
        return self._rows

    def first(self) -> DirectRow | None:
        return self._rows[0] if self._rows else None

    def one(self) -> DirectRow:
        if len(self._rows) != 1:
            raise LookupError(f"{len(self._rows)} rows, expected one")
        return self._rows[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None


class _Compiled:
    """One statement as SQL text, positional bind names and processors, and a row class."""

    __slots__ = ("sql", "names", "binds", "defaults", "convert")

    def __init__(self, stmt: Any, dialect: Dialect, fixed: Mapping[str, Any]) -> None:
        compiled = stmt.compile(dialect=dialect)
        params = compiled.construct_params(dict(fixed), _check=False)
        if compiled.literal_execute_params or compiled.post_compile_params:
            # render the expanding / literal_execute parameters for these values, as SQLAlchemy
            # does at execution; the remaining parameters stay positional
            expanded = compiled._process_parameters_for_postcompile(params)
            self.sql = expanded.statement
            self.names = tuple(expanded.positiontup or ())
            self.defaults = dict(expanded.parameters)
            procs = dict(expanded.processors)
        else:
            self.sql = compiled.string
            self.names = tuple(compiled.positiontup or ())
            self.defaults = params
            procs = dict(compiled._bind_processors)
        self.binds = tuple(procs.get(n) for n in self.names)
        cols = compiled._result_columns
        row = type("Row", (DirectRow,), {"__slots__": (), "_keys": tuple(c[0] for c in cols)})
        self.convert = _converter(row, [_fast_processor(c[3], dialect) for c in cols])


def _converter(row: type[DirectRow], procs: list[Processor | None]) -> Callable[[tuple[Any, ...]], DirectRow]:
    """``raw row -> row(processed values)`` as one generated expression: only the columns that
    have a processor call one (about a third on a queue page), with no per-value loop."""
    if not any(procs):
        return row
    names = {f"p{i}": p for i, p in enumerate(procs) if p is not None}
    body = ", ".join(f"p{i}(r[{i}])" if p is not None else f"r[{i}]" for i, p in enumerate(procs))
    convert: Callable[[tuple[Any, ...]], DirectRow] = eval(  # noqa: S307 - built from column indexes only
        f"lambda r: row(({body},))", {"row": row, **names})
    return convert


class DirectSqliteConnection:
    """A read-only ``sqlite3`` connection used on the event loop's thread, with the part of
    ``AsyncConnection`` that the repository's reads call (``execute``, ``dialect``). One per
    engine (``inbox.storage.engine.direct_reader``); closed by ``close``."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self.dialect = dialect
        self._path = path
        # one sqlite3 connection per thread that reads (the event loop's, normally one)
        self._dbs: dict[int, sqlite3.Connection] = {}
        self._compiled: dict[tuple[int, tuple[Any, ...]], tuple[Any, _Compiled]] = {}
        self._post: dict[int, tuple[Any, tuple[str, ...]]] = {}  # statement id -> its postcompile params

    def _connect(self) -> sqlite3.Connection:
        # opened read-write (a read-only open of a WAL database fails without its -shm file) but
        # refusing writes
        # check_same_thread off only so that ``close`` may close it from any thread: each
        # connection is used by the thread that opened it alone
        db = sqlite3.connect(self._path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                             cached_statements=256, check_same_thread=False)
        db.execute("PRAGMA query_only=ON")
        self._dbs[threading.get_ident()] = db
        log.info("direct_reader_opened", path=self._path, threads=len(self._dbs))
        return db

    def _compile(self, stmt: Any, params: Mapping[str, Any]) -> _Compiled:
        # a statement's postcompile parameters (expanding IN lists, literal_execute values) are
        # part of its SQL text: one compiled form per statement and per their values
        known = self._post.get(id(stmt))
        if known is not None and known[0] is stmt:
            post = known[1]
        else:
            c = stmt.compile(dialect=self.dialect)
            post = tuple(sorted({b.key for b in (*c.literal_execute_params, *c.post_compile_params)}))
            if len(self._post) > 2048:
                self._post.clear()
            self._post[id(stmt)] = (stmt, post)
        fixed = {k: (tuple(v) if isinstance(v, list) else v) for k in post if (v := params.get(k)) is not None}
        key = (id(stmt), tuple(sorted(fixed.items())))
        hit = self._compiled.get(key)
        if hit is not None and hit[0] is stmt:
            return hit[1]
        if len(self._compiled) > 2048:
            self._compiled.clear()  # bounded: statements built per call would otherwise grow it
        got = _Compiled(stmt, self.dialect, {k: (list(v) if isinstance(v, tuple) else v) for k, v in fixed.items()})
        self._compiled[key] = (stmt, got)  # the statement is kept so its id is not reused meanwhile
        return got

    async def execute(self, stmt: Any, params: Mapping[str, Any] | None = None) -> DirectResult:
        """Run a Core SELECT; blocks the loop for its duration (indexed reads: well under 1 ms)."""
        params = params or {}
        c = self._compile(stmt, params)
        args = []
        for name, proc in zip(c.names, c.binds, strict=True):
            v = params[name] if name in params else c.defaults.get(name)
            args.append(v if proc is None else proc(v))
        db = self._dbs.get(threading.get_ident()) or self._connect()
        started = time.perf_counter()
        rows = db.execute(c.sql, args).fetchall()
        ms = (time.perf_counter() - started) * 1000
        if ms > SLOW_READ_MS:
            log.warning("direct_read_slow", ms=round(ms, 1), rows=len(rows), statement=c.sql[:120])
        return DirectResult(list(map(c.convert, rows)))

    def close(self) -> None:
        for db in self._dbs.values():
            db.close()
        self._dbs.clear()
        self._compiled.clear()
        self._post.clear()
