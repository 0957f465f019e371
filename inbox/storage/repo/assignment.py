"""Auto-assignment's SQL: per-team lock, available agents and their load, new items, idle claims.

Locks on PostgreSQL (SQLite has one writer at a time, taken by BEGIN IMMEDIATE):
- the team row FOR UPDATE SKIP LOCKED: one assigner per team at a time; another instance skips
  the team for this tick instead of waiting;
- the agents' user rows FOR UPDATE SKIP LOCKED: an agent whose row is locked (claiming by hand
  right now, see WorkService.claim_next) is left out of this round, so capacity checks never race;
- the items FOR UPDATE SKIP LOCKED: an item an agent is claiming by hand is not assigned twice.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_ITEM, T_MEMBER, T_TEAM, T_USER, is_pg
from inbox.storage.tables import ItemStatus

__all__ = [
    "lock_team",
    "agents",
    "loads",
    "has_new_items",
    "new_items",
    "assign",
    "bump_seq",
    "idle_assigned",
    "reassign",
    "AUTO_PREFIX",
]

AUTO_PREFIX = "auto:"


async def lock_team(team: str, *, conn: AsyncConnection) -> bool:
    """True when this transaction now holds the team's assignment lock (always on SQLite)."""
    if not is_pg(conn):
        return True
    q = select(T_TEAM.c.name).where(T_TEAM.c.name == team).with_for_update(skip_locked=True)
    return (await conn.execute(q)).first() is not None


async def agents(team: str, *, conn: AsyncConnection, lock: bool = True) -> list[dict[str, Any]]:
    """Active, available agents and leads of ``team`` with their round-robin position."""
    q = (select(T_USER.c.id, T_USER.c.name, T_USER.c.capacity, T_MEMBER.c.last_assigned_seq)
         .join(T_MEMBER, T_MEMBER.c.user_id == T_USER.c.id)
         .where(T_MEMBER.c.team == team, T_USER.c.active.is_(True), T_USER.c.available.is_(True),
                T_USER.c.role.in_(["agent", "lead"]))
         .order_by(T_USER.c.id))
    if lock and is_pg(conn):
        q = q.with_for_update(skip_locked=True, of=T_USER)
    return [dict(r._mapping) for r in await conn.execute(q)]


def _active_claim(now: datetime) -> Any:
    return and_(T_ITEM.c.status == ItemStatus.CLAIMED,
                or_(T_ITEM.c.lease_expires_at.is_(None), T_ITEM.c.lease_expires_at >= now))


async def loads(user_ids: Sequence[int], team: str, *, conn: AsyncConnection, now: datetime
                ) -> dict[int, tuple[int, int]]:
    """(claimed items in all teams, claimed items in ``team``) per user (ix_queue_item_assignee)."""
    out = {u: (0, 0) for u in user_ids}
    if not user_ids:
        return out
    q = (select(T_ITEM.c.assignee_id, func.count(),
                func.sum(func.cast(T_ITEM.c.team == team, T_ITEM.c.priority.type)))
         .where(T_ITEM.c.assignee_id.in_(list(user_ids)), _active_claim(now))
         .group_by(T_ITEM.c.assignee_id))
    for uid, n, in_team in await conn.execute(q):
        out[int(uid)] = (int(n), int(in_team or 0))
    return out


async def has_new_items(team: str, *, conn: AsyncConnection) -> bool:
    """Whether the team has unassigned items (no lock: a cheap look before taking the team lock)."""
    q = select(T_ITEM.c.id).where(T_ITEM.c.team == team, T_ITEM.c.status == ItemStatus.NEW).limit(1)
    return (await conn.execute(q)).first() is not None


async def new_items(team: str, *, conn: AsyncConnection, limit: int) -> list[int]:
    """Unassigned items of ``team`` in queue order (priority, then SLA due, then age)."""
    q = (select(T_ITEM.c.id).where(T_ITEM.c.team == team, T_ITEM.c.status == ItemStatus.NEW)
         .order_by(T_ITEM.c.priority.desc(), T_ITEM.c.first_response_due.asc().nulls_last(), T_ITEM.c.id.asc())
         .limit(limit))
    if is_pg(conn):
        q = q.with_for_update(skip_locked=True)
    return [int(r[0]) for r in await conn.execute(q)]


async def assign(item_id: int, user_id: int, *, conn: AsyncConnection, now: datetime, owner: str) -> bool:
    """Give a NEW item to ``user_id``: claimed, no lease expiry (reassignment, not the lease
    sweeper, handles idle assignees), ``assigned_at`` = now. Conditional on still being new."""
    res = await conn.execute(
        update(T_ITEM).where(T_ITEM.c.id == item_id, T_ITEM.c.status == ItemStatus.NEW)
        .values(status=ItemStatus.CLAIMED, assignee_id=user_id, lease_owner=AUTO_PREFIX + owner,
                lease_expires_at=None, assigned_at=now, updated_at=now))
    return (res.rowcount or 0) == 1


async def bump_seq(team: str, seqs: dict[int, int], *, conn: AsyncConnection) -> None:
    for uid, seq in seqs.items():
        await conn.execute(update(T_MEMBER).where(T_MEMBER.c.team == team, T_MEMBER.c.user_id == uid)
                           .values(last_assigned_seq=seq))


async def idle_assigned(team: str, cutoff: datetime | None, *, conn: AsyncConnection, limit: int = 200,
                        lock: bool = True) -> list[dict[str, Any]]:
    """Auto-assigned items the assignee has not acted on since before ``cutoff``, and auto-assigned
    items whose assignee is no longer available or active."""
    unavailable = select(T_USER.c.id).where(or_(T_USER.c.available.is_(False), T_USER.c.active.is_(False)))
    idle: list[Any] = [T_ITEM.c.assignee_id.in_(unavailable)]
    if cutoff is not None:
        idle.append(T_ITEM.c.assigned_at < cutoff)
    q = (select(T_ITEM.c.id, T_ITEM.c.assignee_id, T_ITEM.c.assigned_at)
         .where(T_ITEM.c.team == team, T_ITEM.c.status == ItemStatus.CLAIMED,
                T_ITEM.c.lease_owner.like(AUTO_PREFIX + "%"), T_ITEM.c.assigned_at.is_not(None), or_(*idle))
         .order_by(T_ITEM.c.priority.desc(), T_ITEM.c.assigned_at, T_ITEM.c.id).limit(limit))
    if lock and is_pg(conn):
        q = q.with_for_update(skip_locked=True, of=T_ITEM)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def reassign(item_id: int, from_user: int, to_user: int | None, *, conn: AsyncConnection, now: datetime,
                   owner: str) -> bool:
    """Move an untouched auto-assigned item to ``to_user`` (None: back to the queue)."""
    values: dict[str, Any] = ({"assignee_id": to_user, "lease_owner": AUTO_PREFIX + owner, "assigned_at": now}
                              if to_user is not None else
                              {"status": ItemStatus.NEW, "assignee_id": None, "lease_owner": None,
                               "assigned_at": None})
    res = await conn.execute(
        update(T_ITEM).where(T_ITEM.c.id == item_id, T_ITEM.c.assignee_id == from_user,
                             T_ITEM.c.status == ItemStatus.CLAIMED, T_ITEM.c.lease_owner.like(AUTO_PREFIX + "%"))
        .values(lease_expires_at=None, updated_at=now, **values))
    return (res.rowcount or 0) == 1
