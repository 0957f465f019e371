"""The audit trail's reads: the ``event`` table across items (item events) and outside them
(configuration, users, tokens, models, privacy: ``item_id`` NULL), filtered, newest first."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_EVENT

__all__ = ["audit_rows"]


async def audit_rows(*, conn: AsyncConnection, actor: str | None = None, kind: str | None = None,
                     item_id: int | None = None, since: datetime | None = None, until: datetime | None = None,
                     limit: int = 100, before_id: int | None = None) -> list[dict[str, Any]]:
    q = select(T_EVENT).order_by(T_EVENT.c.id.desc()).limit(limit)
    if actor is not None:
        q = q.where(T_EVENT.c.actor == actor)
    if kind is not None:
        q = q.where(T_EVENT.c.kind == kind)
    if item_id is not None:
        q = q.where(T_EVENT.c.item_id == item_id)
    if since is not None:
        q = q.where(T_EVENT.c.created_at >= since)
    if until is not None:
        q = q.where(T_EVENT.c.created_at < until)
    if before_id is not None:
        q = q.where(T_EVENT.c.id < before_id)
    return [dict(r._mapping) for r in await conn.execute(q)]
