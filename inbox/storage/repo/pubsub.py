"""PostgreSQL NOTIFY for item changes, sent inside the writing transaction (delivered on commit,
dropped on rollback). A no-op on SQLite, where the in-process listeners and the event-log re-check
carry live updates."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["CHANNEL", "READ_CHANNEL", "MAX_PAYLOAD", "RECHECK_ALL", "notify_pg", "notify_pg_sync", "notify_one_sql",
           "notify_read_pg"]

CHANNEL = "inbox_items"
READ_CHANNEL = "inbox_notes_read"  # a user read notifications: {"u": user id, "n": unread left}
MAX_PAYLOAD = 7900          # PostgreSQL's NOTIFY payload limit is 8000 bytes
RECHECK_ALL = "*"


async def notify_pg(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """:func:`notify_pg_sync` on an async connection."""
    if conn.dialect.name == "postgresql" and ids:
        await conn.run_sync(notify_pg_sync, ids)


def notify_pg_sync(c: Connection, ids: Sequence[int]) -> None:
    """Announce changed items to every instance. The payload is the JSON id list, or "*" ("re-check
    the event log") when the list would not fit: one notification per committed batch."""
    if c.dialect.name != "postgresql" or not ids:
        return
    payload = json.dumps(sorted(set(int(i) for i in ids)), separators=(",", ":"))
    if len(payload) > MAX_PAYLOAD:
        payload = RECHECK_ALL
    c.execute(_NOTIFY, {"ch": CHANNEL, "payload": payload})


_NOTIFY = text("SELECT pg_notify(:ch, :payload)")


def notify_one_sql(item_id: Any) -> Any:
    """notify_pg for one item as a SQL expression (PostgreSQL), for a statement that writes the item
    and returns it: the same channel and payload ("[id]"); no notification when ``item_id`` is NULL
    (the statement changed nothing). Like notify_pg, delivered on commit."""
    return case((item_id.is_not(None), func.pg_notify(CHANNEL, func.concat("[", item_id, "]"))), else_=None)


async def notify_read_pg(conn: AsyncConnection, user_id: int, unread: int) -> None:
    """Tell every instance that ``user_id`` read notifications and has ``unread`` left, so the bell
    and the tab title of their streams on any instance follow (delivered on commit)."""
    if conn.dialect.name != "postgresql":
        return
    payload = json.dumps({"u": int(user_id), "n": int(unread)}, separators=(",", ":"))
    await conn.execute(text("SELECT pg_notify(:ch, :payload)"), {"ch": READ_CHANNEL, "payload": payload})
