from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox import models

T_MENTION: Table = models.Mention.__table__  # type: ignore[attr-defined]
T_ITEM: Table = models.QueueItem.__table__  # type: ignore[attr-defined]
T_DECISION: Table = models.RoutingDecision.__table__  # type: ignore[attr-defined]
T_EVENT: Table = models.Event.__table__  # type: ignore[attr-defined]
T_DEAD: Table = models.DeadLetter.__table__  # type: ignore[attr-defined]
T_TEAM: Table = models.Team.__table__  # type: ignore[attr-defined]
T_USER: Table = models.User.__table__  # type: ignore[attr-defined]
T_MEMBER: Table = models.Membership.__table__  # type: ignore[attr-defined]
T_TOKEN: Table = models.ApiToken.__table__  # type: ignore[attr-defined]
T_CONN: Table = models.ConnectorState.__table__  # type: ignore[attr-defined]
T_MODEL: Table = models.ModelVersion.__table__  # type: ignore[attr-defined]
T_CORR: Table = models.Correction.__table__  # type: ignore[attr-defined]
T_LOGIN: Table = models.LoginAttempt.__table__  # type: ignore[attr-defined]


def dialect_insert(conn: AsyncConnection, table: Table) -> Any:
    """INSERT that supports ON CONFLICT on both back ends."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_pg(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"
T_CRISIS: Table = models.Crisis.__table__  # type: ignore[attr-defined]
T_NOTIF: Table = models.Notification.__table__  # type: ignore[attr-defined]
