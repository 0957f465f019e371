"""Crisis detection's SQL: windowed counts (by the indexed mention.fetched_at and
queue_item.created_at), the crisis rows (one OPEN per subject: a partial unique index) and the
linking of related queue items."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_CRISIS, T_ITEM, T_MENTION, dialect_insert
from inbox.storage.tables import ItemStatus

__all__ = ["close_quiet", "open_crises", "try_open", "get_open", "get_crisis", "touch", "set_item",
           "earliest_fetch", "recent_mentions", "key_bucket_counts", "label_bucket_counts", "attach",
           "label_items_since", "key_items_since", "list_crises", "CRISIS_SOURCE"]

CRISIS_SOURCE = "crisis"
_OPEN = text("status = 'open'")


def _fresh(after: datetime) -> Any:
    # a mention posted long before it was fetched (a backfill, an import of old data) is history,
    # not a spike: only mentions without a date or dated inside the window count
    return or_(T_MENTION.c.created_at.is_(None), T_MENTION.c.created_at >= after)


async def close_quiet(before: datetime, *, conn: AsyncConnection, now: datetime) -> list[int]:
    stmt = (update(T_CRISIS).where(T_CRISIS.c.status == "open", T_CRISIS.c.last_spike_at < before)
            .values(status="closed", closed_at=now).returning(T_CRISIS.c.id))
    return [int(r[0]) for r in await conn.execute(stmt)]


async def open_crises(*, conn: AsyncConnection) -> list[dict[str, Any]]:
    q = select(T_CRISIS).where(T_CRISIS.c.status == "open").order_by(T_CRISIS.c.id)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def try_open(row: dict[str, Any], *, conn: AsyncConnection) -> int | None:
    """Insert an open crisis; None when one is already open for the subject. On PostgreSQL a
    concurrent insert of the same subject waits for the first to commit, then does nothing."""
    stmt = (dialect_insert(conn, T_CRISIS).values(**row)
            .on_conflict_do_nothing(index_elements=["subject"], index_where=_OPEN)
            .returning(T_CRISIS.c.id))
    r = (await conn.execute(stmt)).first()
    return int(r[0]) if r else None


async def get_open(subject: str, *, conn: AsyncConnection) -> dict[str, Any] | None:
    r = (await conn.execute(select(T_CRISIS).where(T_CRISIS.c.subject == subject,
                                                   T_CRISIS.c.status == "open"))).first()
    return dict(r._mapping) if r else None


async def get_crisis(crisis_id: int, *, conn: AsyncConnection) -> dict[str, Any] | None:
    r = (await conn.execute(select(T_CRISIS).where(T_CRISIS.c.id == crisis_id))).first()
    return dict(r._mapping) if r else None


async def touch(crisis_id: int, *, conn: AsyncConnection, now: datetime, count: int,
                data: dict[str, Any] | None = None) -> None:
    values: dict[str, Any] = {"last_spike_at": now, "count": func.max(T_CRISIS.c.count, count)
                              if conn.dialect.name == "sqlite" else func.greatest(T_CRISIS.c.count, count)}
    if data is not None:
        values["data"] = data
    await conn.execute(update(T_CRISIS).where(T_CRISIS.c.id == crisis_id).values(**values))


async def set_item(crisis_id: int, item_id: int, *, conn: AsyncConnection) -> None:
    await conn.execute(update(T_CRISIS).where(T_CRISIS.c.id == crisis_id).values(item_id=item_id))


async def earliest_fetch(*, conn: AsyncConnection) -> datetime | None:
    first: datetime | None = (await conn.execute(select(func.min(T_MENTION.c.fetched_at))
                                                 .where(T_MENTION.c.source != CRISIS_SOURCE))).scalar()
    return first


async def recent_mentions(start: datetime, end: datetime, *, conn: AsyncConnection, limit: int
                          ) -> list[dict[str, Any]]:
    """Mentions fetched in [start, end) (ix_mention_fetched_at), newest first, at most ``limit``."""
    q = (select(T_MENTION.c.id, T_MENTION.c.text, T_MENTION.c.cluster_key, T_MENTION.c.lang)
         .where(T_MENTION.c.fetched_at >= start, T_MENTION.c.fetched_at < end,
                T_MENTION.c.source != CRISIS_SOURCE, T_MENTION.c.deleted.is_(False), _fresh(start))
         .order_by(T_MENTION.c.fetched_at.desc()).limit(limit))
    return [dict(r._mapping) for r in await conn.execute(q)]


def _buckets(col: Any, edges: Sequence[datetime]) -> list[Any]:
    return [func.sum(case((and_(col >= edges[i], col < edges[i + 1]), 1), else_=0)).label(f"b{i}")
            for i in range(len(edges) - 1)]


async def key_bucket_counts(keys: Sequence[str], edges: Sequence[datetime], *, conn: AsyncConnection
                            ) -> list[int]:
    """Mentions with any of these cluster keys per [edges[i], edges[i+1]) (ix_mention_cluster_key)."""
    if not keys:
        return [0] * (len(edges) - 1)
    col = T_MENTION.c.fetched_at
    q = (select(*_buckets(col, edges))
         .where(T_MENTION.c.cluster_key.in_(list(keys)), col >= edges[0], col < edges[-1],
                T_MENTION.c.source != CRISIS_SOURCE, _fresh(edges[0])))
    row = (await conn.execute(q)).first()
    return [int(v or 0) for v in (row or [])] or [0] * (len(edges) - 1)


async def label_bucket_counts(edges: Sequence[datetime], *, conn: AsyncConnection) -> dict[str, list[int]]:
    """Queue items per model label per bucket, leaving out items already linked to a crisis
    (ix_queue_item_created_at)."""
    col = T_ITEM.c.created_at
    q = (select(T_ITEM.c.label, *_buckets(col, edges))
         .join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
         .where(col >= edges[0], col < edges[-1], T_ITEM.c.label.is_not(None), T_ITEM.c.crisis_id.is_(None),
                _fresh(edges[0]))
         .group_by(T_ITEM.c.label))
    return {r[0]: [int(v or 0) for v in r[1:]] for r in await conn.execute(q)}


async def attach(crisis_id: int, item_ids: Sequence[int], *, conn: AsyncConnection, now: datetime
                 ) -> list[dict[str, Any]]:
    """Link open items to the crisis and raise their priority (to at least 2, +1, at most 3).
    Items already linked to a crisis are left alone. Returns the linked rows (new priority)."""
    out: list[dict[str, Any]] = []
    ids = list(item_ids)
    for i in range(0, len(ids), 500):
        stmt = (update(T_ITEM)
                .where(T_ITEM.c.id.in_(ids[i:i + 500]), T_ITEM.c.crisis_id.is_(None),
                       T_ITEM.c.status.in_(list(ItemStatus.OPEN)))
                .values(crisis_id=crisis_id, updated_at=now,
                        priority=case((T_ITEM.c.priority < 2, 2), (T_ITEM.c.priority < 3, T_ITEM.c.priority + 1),
                                      else_=3))
                .returning(T_ITEM.c.id, T_ITEM.c.team, T_ITEM.c.priority))
        out.extend(dict(r._mapping) for r in await conn.execute(stmt))
    return out


async def label_items_since(label: str, since: datetime, *, conn: AsyncConnection, limit: int = 5000) -> list[int]:
    q = (select(T_ITEM.c.id).where(T_ITEM.c.created_at >= since, T_ITEM.c.label == label,
                                   T_ITEM.c.crisis_id.is_(None), T_ITEM.c.status.in_(list(ItemStatus.OPEN)))
         .order_by(T_ITEM.c.id).limit(limit))
    return [int(r[0]) for r in await conn.execute(q)]


async def key_items_since(keys: Sequence[str], since: datetime, *, conn: AsyncConnection, limit: int = 5000
                          ) -> list[int]:
    if not keys:
        return []
    q = (select(T_ITEM.c.id).join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
         .where(T_MENTION.c.cluster_key.in_(list(keys)), T_MENTION.c.fetched_at >= since,
                T_ITEM.c.crisis_id.is_(None), T_ITEM.c.status.in_(list(ItemStatus.OPEN)))
         .limit(limit))  # no ORDER BY: any `limit` of them (the caller sorts); a storm of
                         # hundreds of thousands would otherwise be sorted on every pass
    return [int(r[0]) for r in await conn.execute(q)]


async def list_crises(since: datetime, *, conn: AsyncConnection, limit: int = 50) -> list[dict[str, Any]]:
    q = (select(T_CRISIS).where(or_(T_CRISIS.c.opened_at >= since, T_CRISIS.c.status == "open"))
         .order_by(T_CRISIS.c.opened_at.desc()).limit(limit))
    return [dict(r._mapping) for r in await conn.execute(q)]
