"""The SLA breach sweep's SQL: conditional updates that flip a breached_* flag exactly once."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_EVENT, T_ITEM, T_MEMBER, T_USER, is_pg
from inbox.storage.tables import ItemStatus

__all__ = ["mark_breaches", "leads_of", "return_to_queue", "breach_events"]

Kind = Literal["first_response", "resolution"]


async def mark_breaches(kind: Kind, *, conn: AsyncConnection, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Flag open items whose ``kind`` due time has passed and raise their priority by one (max 3).

    The UPDATE's ``WHERE breached_x = false`` is what makes a breach count once: two sweepers on
    PostgreSQL serialise on the row lock and the second re-checks the WHERE and skips the row; the
    candidate subquery uses SKIP LOCKED so a sweeper never waits on an item an agent is editing.
    Items paused while waiting on the customer are not swept (their due times move on resume).
    First-response breaches only count items nobody has touched yet. Returns the flagged rows
    with the priority before the raise as ``old_priority``."""
    flag = T_ITEM.c.breached_first_response if kind == "first_response" else T_ITEM.c.breached_resolution
    due = T_ITEM.c.first_response_due if kind == "first_response" else T_ITEM.c.resolve_due
    cond = [flag.is_(False), due.is_not(None), due < now, T_ITEM.c.status.in_(list(ItemStatus.OPEN)),
            T_ITEM.c.sla_paused_at.is_(None)]
    if kind == "first_response":
        cond.append(T_ITEM.c.first_touched_at.is_(None))
    cand = select(T_ITEM.c.id, T_ITEM.c.priority).where(*cond).order_by(due).limit(limit)
    if is_pg(conn):
        cand = cand.with_for_update(skip_locked=True)
    old = {int(i): int(p) for i, p in await conn.execute(cand)}
    if not old:
        return []
    stmt = (update(T_ITEM).where(T_ITEM.c.id.in_(list(old)), flag.is_(False))
            .values({flag: True, T_ITEM.c.updated_at: now,
                     T_ITEM.c.priority: case((T_ITEM.c.priority < 3, T_ITEM.c.priority + 1), else_=3)})
            .returning(T_ITEM.c.id, T_ITEM.c.team, T_ITEM.c.status, T_ITEM.c.assignee_id, T_ITEM.c.priority,
                       T_ITEM.c.label, due.label("due")))
    out = []
    for r in await conn.execute(stmt):
        d = dict(r._mapping)
        d["old_priority"] = old[d["id"]]
        out.append(d)
    return sorted(out, key=lambda d: d["id"])


async def leads_of(teams: Sequence[str], *, conn: AsyncConnection) -> dict[str, list[str]]:
    """Names of the active users with role ``lead`` in each team."""
    out: dict[str, list[str]] = {t: [] for t in teams}
    if not teams:
        return out
    q = (select(T_MEMBER.c.team, T_USER.c.name).join(T_USER, T_USER.c.id == T_MEMBER.c.user_id)
         .where(T_MEMBER.c.team.in_(list(teams)), T_USER.c.role == "lead", T_USER.c.active.is_(True))
         .order_by(T_USER.c.name))
    for team, name in await conn.execute(q):
        out[team].append(name)
    return out


async def return_to_queue(ids: Sequence[int], *, conn: AsyncConnection, now: datetime) -> list[int]:
    """Unassign claimed items (breach escalation with return_on_breach); returns those changed."""
    if not ids:
        return []
    stmt = (update(T_ITEM).where(T_ITEM.c.id.in_(list(ids)), T_ITEM.c.status == ItemStatus.CLAIMED)
            .values(status=ItemStatus.NEW, assignee_id=None, lease_owner=None, lease_expires_at=None,
                    assigned_at=None, updated_at=now)
            .returning(T_ITEM.c.id))
    return [int(r[0]) for r in await conn.execute(stmt)]


async def breach_events(since: datetime, *, conn: AsyncConnection, limit: int = 20_000) -> list[dict[str, Any]]:
    """The ``sla_breach`` events written at or after ``since`` (item_id, team, data, created_at),
    oldest first: an index range scan of (kind, created_at)."""
    q = (select(T_EVENT.c.item_id, T_EVENT.c.team, T_EVENT.c.data, T_EVENT.c.created_at)
         .where(T_EVENT.c.kind == "sla_breach", T_EVENT.c.created_at >= since)
         .order_by(T_EVENT.c.created_at, T_EVENT.c.id).limit(limit))
    return [dict(r) for r in (await conn.execute(q)).mappings()]
