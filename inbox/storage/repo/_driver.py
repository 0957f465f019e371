"""Core statements run straight on the driver connection, for the claim/work hot path on PostgreSQL.

SQLAlchemy's per-execution machinery (execution context, cursor adaptation, greenlet hops, result
objects) costs about 65 µs of client CPU per statement, four times asyncpg's own work; with five
statements per claim or resolve it was most of the client's CPU (bench/claims.py). The statements
are still built with Core and compiled once by the engine's dialect, and their parameters and
results go through the same type processing (UTC datetimes, JSON) as SQLAlchemy's own execution."""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Dialect

__all__ = ["DriverStatement", "driver_statement"]


class DriverStatement:
    """One statement compiled for one dialect; ``fetch`` runs it on an asyncpg connection."""

    __slots__ = ("sql", "_args", "_types", "_dialect", "_keys", "_results")

    def __init__(self, stmt: Any, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        args = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            # (name, the value of a constant bound in the statement, the type's bind processor)
            args.append((name, bind.value, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        self._args: tuple[tuple[str, Any, Any], ...] = tuple(args)
        self._types = [c.type for c in getattr(stmt, "selected_columns", None) or ()]
        self._dialect = dialect
        self._keys: tuple[str, ...] | None = None  # set on first use, from the server's row description
        self._results: tuple[Any, ...] = ()

    async def _describe(self, conn: Any) -> tuple[str, ...]:
        # result processors may depend on the column's type OID (PostgreSQL numerics), as SQLAlchemy's
        # do: ask the server once per compiled statement
        attrs = (await conn.prepare(self.sql)).get_attributes()
        if len(attrs) != len(self._types):
            raise RuntimeError(f"{len(attrs)} result columns, {len(self._types)} expected: {self.sql[:80]!r}")
        self._results = tuple(t.dialect_impl(self._dialect).result_processor(self._dialect, a.type.oid)
                              for t, a in zip(self._types, attrs, strict=True))
        self._keys = tuple(a.name for a in attrs)
        return self._keys

    async def fetch(self, conn: Any, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Rows as dicts keyed like SQLAlchemy's row mappings; asyncpg caches the prepared statement."""
        args = []
        for name, const, proc in self._args:
            v = params[name] if name in params else const
            args.append(v if proc is None else proc(v))
        if not self._types:  # a write: any RETURNING SQLAlchemy added for the primary key is not wanted
            await conn.execute(self.sql, *args)
            return []
        keys = self._keys if self._keys is not None else await self._describe(conn)
        records = await conn.fetch(self.sql, *args)
        procs = self._results
        return [dict(zip(keys, [v if p is None else p(v) for p, v in zip(procs, rec, strict=True)], strict=True))
                for rec in records]


@lru_cache(maxsize=512)
def driver_statement(shape: Any, build: Any, dialect: Dialect) -> DriverStatement:
    """The compiled statement that ``build(*shape)`` makes, once per shape and dialect."""
    return DriverStatement(build(*shape), dialect)
