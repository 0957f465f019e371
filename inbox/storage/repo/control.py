"""The control channel's SQL: a message is a row of ``control_message`` written in the caller's
transaction (so it is heard only if the change it announces commits), plus, on PostgreSQL, a
NOTIFY carrying the row's id that wakes every listening instance at once (delivered on commit)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_CONTROL, is_pg

__all__ = ["CHANNEL", "KEEP", "MODEL", "SETTINGS", "AUTH", "ControlMessage", "publish", "after", "latest_id"]

CHANNEL = "inbox_control"
# kinds
MODEL = "model"        # reload the promoted model
SETTINGS = "settings"  # configuration changed (the payload names what)
AUTH = "auth"          # who a credential belongs to, or what a user may do, changed (payload: user_id or none)
KEEP = timedelta(days=1)
"""How long a message stays readable: far longer than any instance takes to read it."""


@dataclass(frozen=True)
class ControlMessage:
    id: int
    kind: str
    payload: dict[str, Any]
    origin: str
    created_at: datetime


async def publish(kind: str, payload: dict[str, Any] | None = None, *, conn: AsyncConnection, now: datetime,
                  origin: str = "") -> int:
    """Write one message (and prune those older than :data:`KEEP`); returns its id."""
    await conn.execute(delete(T_CONTROL).where(T_CONTROL.c.created_at < now - KEEP))
    row = (await conn.execute(insert(T_CONTROL).values(kind=kind, payload=payload or {}, origin=origin[:128],
                                                       created_at=now).returning(T_CONTROL.c.id))).one()
    if is_pg(conn):
        await conn.execute(text("SELECT pg_notify(:ch, :payload)"), {"ch": CHANNEL, "payload": str(row.id)})
    return int(row.id)


async def after(last_id: int, *, conn: AsyncConnection, limit: int = 500) -> list[ControlMessage]:
    """Messages with an id above ``last_id``, oldest first."""
    rows = await conn.execute(select(T_CONTROL).where(T_CONTROL.c.id > last_id)
                              .order_by(T_CONTROL.c.id).limit(limit))
    return [ControlMessage(r.id, r.kind, dict(r.payload or {}), r.origin, r.created_at) for r in rows]


async def latest_id(*, conn: AsyncConnection) -> int:
    """The newest message's id (0 when there is none): where a starting instance begins to listen."""
    return int((await conn.execute(select(func.coalesce(func.max(T_CONTROL.c.id), 0)))).scalar_one())
