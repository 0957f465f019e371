from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage import tables

T_MENTION: Table = tables.Mention.__table__  # type: ignore[attr-defined]
T_ITEM: Table = tables.QueueItem.__table__  # type: ignore[attr-defined]
T_DECISION: Table = tables.RoutingDecision.__table__  # type: ignore[attr-defined]
T_EVENT: Table = tables.Event.__table__  # type: ignore[attr-defined]
T_DEAD: Table = tables.DeadLetter.__table__  # type: ignore[attr-defined]
T_TEAM: Table = tables.Team.__table__  # type: ignore[attr-defined]
T_USER: Table = tables.User.__table__  # type: ignore[attr-defined]
T_MEMBER: Table = tables.Membership.__table__  # type: ignore[attr-defined]
T_TOKEN: Table = tables.ApiToken.__table__  # type: ignore[attr-defined]
T_CONN: Table = tables.ConnectorState.__table__  # type: ignore[attr-defined]
T_MODEL: Table = tables.ModelVersion.__table__  # type: ignore[attr-defined]
T_CORR: Table = tables.Correction.__table__  # type: ignore[attr-defined]
T_LOGIN: Table = tables.LoginAttempt.__table__  # type: ignore[attr-defined]
T_THROTTLE: Table = tables.LoginThrottle.__table__  # type: ignore[attr-defined]
T_REVISION: Table = tables.MentionRevision.__table__  # type: ignore[attr-defined]


def dialect_insert(conn: AsyncConnection | Connection, table: Table) -> Any:
    """INSERT that supports ON CONFLICT on both back ends."""
    return _dialect_insert(conn.dialect.name, table)


def _dialect_insert(dialect: str, table: Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def is_pg(conn: AsyncConnection | Connection) -> bool:
    return conn.dialect.name == "postgresql"


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]], *,
                      conflict: Sequence[str] | None = None,
                      returning: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
    """:func:`insert_rows_sync` on an async connection."""
    if not rows:
        return []
    return await conn.run_sync(insert_rows_sync, table, rows, conflict=conflict, returning=returning)


def insert_rows_sync(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *,
                     conflict: Sequence[str] | None = None,
                     returning: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` as an executemany, which SQLAlchemy
    sends as multi-row INSERTs ("insertmanyvalues", on both back ends). ``conflict`` adds ON
    CONFLICT (cols) DO NOTHING; ``returning`` returns those columns of the rows actually inserted."""
    if not rows:
        return []
    stmt = _insert_stmt(conn.dialect.name, table, tuple(conflict or ()), tuple(returning or ()))
    result = conn.execute(stmt, list(rows))
    return [tuple(r) for r in result] if returning else []


@lru_cache(maxsize=128)
def _insert_stmt(dialect: str, table: Table, conflict: tuple[str, ...], returning: tuple[str, ...]) -> Any:
    """The INSERT of :func:`insert_rows`, built once per shape: building it (and its cache key) on
    every call costs more CPU than a small batch's insert."""
    stmt = _dialect_insert(dialect, table)
    if conflict:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    return stmt.returning(*(table.c[c] for c in returning)) if returning else stmt
T_CRISIS: Table = tables.Crisis.__table__  # type: ignore[attr-defined]
T_NOTIF: Table = tables.Notification.__table__  # type: ignore[attr-defined]
T_CONTROL: Table = tables.ControlMessage.__table__  # type: ignore[attr-defined]
T_DIGEST_RUN: Table = tables.DigestRun.__table__  # type: ignore[attr-defined]
T_DIGEST_TO: Table = tables.DigestRecipient.__table__  # type: ignore[attr-defined]
T_REPLY: Table = tables.Reply.__table__  # type: ignore[attr-defined]
T_TOMBSTONE: Table = tables.Tombstone.__table__  # type: ignore[attr-defined]
T_CONTEXT: Table = tables.ContextPost.__table__  # type: ignore[attr-defined]
T_CONFIG: Table = tables.ConfigRevision.__table__  # type: ignore[attr-defined]
T_USER_NOTE: Table = tables.UserNotification.__table__  # type: ignore[attr-defined]
