"""Statements of handing an item over (assign, reopen): the target user locked with their open
claims counted, the item locked, changed and audited in the caller's transaction."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_MEMBER, T_USER, is_pg
from inbox.storage.repo.items import open_claims_sync

__all__ = ["lock_target", "load_of"]


async def lock_target(name: str, *, conn: AsyncConnection) -> dict[str, Any] | None:
    """The user called ``name`` (id, name, role, capacity, active, available, teams), their row
    locked until the transaction ends on PostgreSQL: the same lock a claim takes before counting the
    agent's claims (migration 0006), so an assignment and a claim cannot both pass the capacity."""
    q = select(T_USER.c.id, T_USER.c.name, T_USER.c.role, T_USER.c.capacity, T_USER.c.active,
               T_USER.c.available).where(T_USER.c.name == name)
    if is_pg(conn):
        q = q.with_for_update()
    row = (await conn.execute(q)).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["teams"] = [t for (t,) in await conn.execute(select(T_MEMBER.c.team).where(T_MEMBER.c.user_id == out["id"]))]
    return out


async def load_of(user_id: int, *, conn: AsyncConnection, now: datetime) -> int:
    """The user's open claims (their load against capacity)."""
    return await conn.run_sync(open_claims_sync, user_id, now)
