"""The notification outbox and delivery log."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.db_clock import db_now
from inbox.storage.repo._common import T_ITEM, T_MENTION, T_NOTIF, dialect_insert, is_pg
from inbox.storage.tables import ItemStatus

__all__ = ["enqueue", "claim_due", "finish", "high_priority_candidates", "list_notifications", "status_counts"]


async def enqueue(rows: Sequence[dict[str, Any]], *, conn: AsyncConnection) -> int:
    """Insert notifications; a row whose dedupe_key exists is skipped. Returns how many were new."""
    n = 0
    for row in rows:
        stmt = (dialect_insert(conn, T_NOTIF).values(**row)
                .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(T_NOTIF.c.id))
        if (await conn.execute(stmt)).first() is not None:
            n += 1
    return n


async def claim_due(*, conn: AsyncConnection, now: datetime, owner: str, lease_for: timedelta,
                    limit: int = 50) -> list[dict[str, Any]]:
    """Take a lease for ``lease_for`` on due notifications (pending and due at ``now``, or
    'sending' whose sender's lease expired: it crashed mid-send, so the message is sent again:
    at-least-once delivery). The lease is taken and judged on the database's clock (db_now).
    SKIP LOCKED lets several instances each take different rows."""
    cand = (select(T_NOTIF.c.id)
            .where(or_(and_(T_NOTIF.c.status == "pending", T_NOTIF.c.next_attempt_at <= now),
                       and_(T_NOTIF.c.status == "sending", T_NOTIF.c.lease_expires_at < db_now())))
            .order_by(T_NOTIF.c.next_attempt_at, T_NOTIF.c.id).limit(limit))
    if is_pg(conn):
        cand = cand.with_for_update(skip_locked=True)
    stmt = (update(T_NOTIF).where(T_NOTIF.c.id.in_(cand.scalar_subquery()))
            .values(status="sending", lease_owner=owner, lease_expires_at=db_now(lease_for),
                    attempts=T_NOTIF.c.attempts + 1)
            .returning(T_NOTIF))
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def finish(notif_id: int, owner: str, values: dict[str, Any], *, conn: AsyncConnection) -> bool:
    """Record the outcome of an attempt, only if we still hold the lease."""
    res = await conn.execute(update(T_NOTIF).where(T_NOTIF.c.id == notif_id, T_NOTIF.c.lease_owner == owner,
                                                   T_NOTIF.c.status == "sending")
                             .values(lease_owner=None, lease_expires_at=None, **values))
    return (res.rowcount or 0) == 1


async def high_priority_candidates(since: datetime, *, conn: AsyncConnection, min_priority: int = 3,
                                   limit: int = 200) -> list[dict[str, Any]]:
    """Open items of priority >= min_priority created since ``since`` with no high_priority
    notification yet (ix_queue_item_priority_created, ix_notification_item)."""
    notified = exists().where(T_NOTIF.c.item_id == T_ITEM.c.id, T_NOTIF.c.kind == "high_priority")
    q = (select(T_ITEM.c.id, T_ITEM.c.team, T_ITEM.c.priority, T_ITEM.c.label, T_ITEM.c.crisis_id,
                T_MENTION.c.text, T_MENTION.c.source, T_MENTION.c.url)
         .join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
         .where(T_ITEM.c.priority >= min_priority, T_ITEM.c.created_at >= since,
                T_ITEM.c.status.in_(list(ItemStatus.OPEN)), ~notified,
                # crisis-linked and breached items already have their own notification
                T_ITEM.c.crisis_id.is_(None), T_ITEM.c.breached_first_response.is_(False),
                T_ITEM.c.breached_resolution.is_(False))
         .order_by(T_ITEM.c.id).limit(limit))
    return [dict(r._mapping) for r in await conn.execute(q)]


async def list_notifications(*, conn: AsyncConnection, kind: str | None = None, item_id: int | None = None,
                             limit: int = 100) -> list[dict[str, Any]]:
    q = select(T_NOTIF).order_by(T_NOTIF.c.id).limit(limit)
    if kind is not None:
        q = q.where(T_NOTIF.c.kind == kind)
    if item_id is not None:
        q = q.where(T_NOTIF.c.item_id == item_id)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def status_counts(since: datetime, *, conn: AsyncConnection) -> dict[str, int]:
    q = (select(T_NOTIF.c.status, func.count()).where(T_NOTIF.c.created_at >= since)
         .group_by(T_NOTIF.c.status))
    return {s: int(n) for s, n in await conn.execute(q)}
