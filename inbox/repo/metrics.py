"""Reads for the manager's metrics: each query is bounded by an indexed time range."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.repo._common import T_CORR, T_ITEM, T_MENTION

__all__ = ["items_since", "corrections_since"]


async def items_since(since: datetime, *, conn: AsyncConnection, team: str | None = None) -> list[dict[str, Any]]:
    q = (select(T_ITEM.c.id, T_ITEM.c.team, T_ITEM.c.status, T_ITEM.c.label, T_ITEM.c.priority,
                T_ITEM.c.created_at, T_ITEM.c.first_touched_at, T_ITEM.c.resolved_at, T_ITEM.c.first_response_due,
                T_ITEM.c.resolve_due, T_ITEM.c.transfers, T_ITEM.c.bounces, T_ITEM.c.breached_first_response,
                T_ITEM.c.breached_resolution, T_MENTION.c.source)
         .join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
         .where(T_ITEM.c.created_at >= since))
    if team is not None:
        q = q.where(T_ITEM.c.team == team)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def corrections_since(since: datetime, *, conn: AsyncConnection) -> list[dict[str, Any]]:
    q = select(T_CORR.c.mention_id, T_CORR.c.label, T_CORR.c.predicted_label).where(T_CORR.c.created_at >= since)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def open_backlog(*, conn: AsyncConnection, team: str | None = None) -> list[dict[str, Any]]:
    q = (select(T_ITEM.c.team, func.count().label("n"), func.min(T_ITEM.c.created_at).label("oldest"))
         .where(T_ITEM.c.status.in_(["new", "claimed", "replied", "waiting"])).group_by(T_ITEM.c.team))
    if team is not None:
        q = q.where(T_ITEM.c.team == team)
    return [dict(r._mapping) for r in await conn.execute(q)]
