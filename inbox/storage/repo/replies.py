"""The reply outbox's SQL (inbox.work.replies writes rows, inbox.work.reply_sender delivers them)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, exists, func, literal, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.db_clock import db_now
from inbox.storage.repo import context_posts
from inbox.storage.repo._common import T_ITEM, T_MENTION, T_REPLY, is_pg
from inbox.storage.tables import ReplyStatus

__all__ = ["insert_reply", "any_due", "claim_due", "finish", "finish_many", "mark_first_responses", "for_item",
           "get_reply", "set_status", "reply_metrics",
           "mark_first_response", "earlier_mentions", "parent_mention", "first_response_at"]

def _due(now: datetime) -> Any:
    # queued and due; 'sending' with a look scheduled for now or earlier (a sender that could not
    # tell whether its request went out gave the row up); or 'sending' whose sender's lease ran out
    # on the database's clock (it died mid-send)
    return or_(and_(T_REPLY.c.status == ReplyStatus.QUEUED, T_REPLY.c.next_attempt_at <= now),
               and_(T_REPLY.c.status == ReplyStatus.SENDING, T_REPLY.c.lease_owner.is_(None),
                    T_REPLY.c.next_attempt_at <= now),
               and_(T_REPLY.c.status == ReplyStatus.SENDING, T_REPLY.c.lease_owner.is_not(None),
                    T_REPLY.c.lease_expires_at < db_now()))


async def insert_reply(row: dict[str, Any], *, conn: AsyncConnection) -> dict[str, Any]:
    res = await conn.execute(T_REPLY.insert().values(**row).returning(T_REPLY))
    return dict(res.one()._mapping)


async def any_due(*, conn: AsyncConnection, now: datetime) -> bool:
    """A cheap read before taking the write lock: is any reply due?"""
    return bool((await conn.execute(select(exists().where(_due(now))))).scalar())


async def claim_due(*, conn: AsyncConnection, now: datetime, owner: str, lease_for: timedelta,
                    limit: int = 100) -> list[dict[str, Any]]:
    """Lease due replies for ``lease_for`` on the database's clock and mark them ``sending`` (SKIP
    LOCKED on PostgreSQL; SQLite's transaction holds the write lock). ``in_doubt`` comes back true
    for a row that was already ``sending``: a sender died after its request may have gone out, or
    could not tell, so look before sending."""
    cand = select(T_REPLY.c.id).where(_due(now)).order_by(T_REPLY.c.next_attempt_at, T_REPLY.c.id).limit(limit)
    if is_pg(conn):
        cand = cand.with_for_update(skip_locked=True)
    stmt = (update(T_REPLY).where(T_REPLY.c.id.in_(cand.scalar_subquery()), _due(now))
            .values(status=ReplyStatus.SENDING, lease_owner=owner, lease_expires_at=db_now(lease_for),
                    attempts=T_REPLY.c.attempts + 1, updated_at=now,
                    in_doubt=or_(T_REPLY.c.in_doubt, T_REPLY.c.status == ReplyStatus.SENDING),
                    first_sent_at=func.coalesce(T_REPLY.c.first_sent_at, now))
            .returning(T_REPLY))
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def finish(reply_id: int, owner: str, values: dict[str, Any], *, conn: AsyncConnection) -> dict[str, Any] | None:
    """Record an attempt's outcome, only while this sender still holds the lease."""
    res = await conn.execute(update(T_REPLY).where(T_REPLY.c.id == reply_id, T_REPLY.c.lease_owner == owner,
                                                   T_REPLY.c.status == ReplyStatus.SENDING)
                             .values(**values).returning(T_REPLY))
    row = res.first()
    return dict(row._mapping) if row else None


_FINISH_KEYS = ("status", "lease_owner", "lease_expires_at", "next_attempt_at", "in_doubt", "external_id", "url",
                "error", "error_status", "sent_at", "updated_at")


async def finish_many(outcomes: dict[int, dict[str, Any]], owner: str, *, conn: AsyncConnection) -> list[int]:
    """:func:`finish` for many replies in three statements: the rows this sender still holds (locked
    on PostgreSQL; SQLite's write transaction holds them anyway), then one executemany UPDATE.
    Each value dict gives every key of _FINISH_KEYS it changes; missing keys keep the row's value.
    Returns the ids written."""
    if not outcomes:
        return []
    q = select(T_REPLY).where(T_REPLY.c.id.in_(sorted(outcomes)), T_REPLY.c.lease_owner == owner,
                              T_REPLY.c.status == ReplyStatus.SENDING)
    if is_pg(conn):
        q = q.with_for_update()
    held = {r.id: dict(r._mapping) for r in await conn.execute(q)}
    if not held:
        return []
    stmt = update(T_REPLY).where(T_REPLY.c.id == bindparam("_id")).values(
        {k: bindparam(f"_{k}") for k in _FINISH_KEYS})
    await conn.execute(stmt, [{"_id": i, **{f"_{k}": outcomes[i].get(k, held[i][k]) for k in _FINISH_KEYS}}
                              for i in sorted(held)])
    return sorted(held)


async def mark_first_responses(item_ids: Sequence[int], at: datetime, *, conn: AsyncConnection) -> None:
    """:func:`mark_first_response` for many items in one statement."""
    if item_ids:
        await conn.execute(update(T_ITEM).where(T_ITEM.c.id.in_(sorted(set(item_ids))),
                                                T_ITEM.c.first_response_at.is_(None))
                           .values(first_response_at=at, first_touched_at=func.coalesce(T_ITEM.c.first_touched_at, at),
                                   updated_at=at))


# Statements every item page runs, built once with bound values: building a statement and its
# cache key on each call cost more client CPU than executing it.
_FOR_ITEM = select(T_REPLY).where(T_REPLY.c.item_id == bindparam("r_item")).order_by(T_REPLY.c.id)
_PARENT = (select(T_MENTION.c.id, T_MENTION.c.external_id, T_MENTION.c.text, T_MENTION.c.author_handle,
                  T_MENTION.c.url, T_MENTION.c.created_at)
           .where(T_MENTION.c.source == bindparam("p_source"), T_MENTION.c.external_id == bindparam("p_ext")))


async def for_item(item_id: int, *, conn: AsyncConnection) -> list[dict[str, Any]]:
    return await conn.run_sync(for_item_sync, item_id)


def for_item_sync(c: Connection, item_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in c.execute(_FOR_ITEM, {"r_item": item_id})]


async def get_reply(reply_id: int, *, conn: AsyncConnection, lock: bool = False) -> dict[str, Any] | None:
    q = select(T_REPLY).where(T_REPLY.c.id == reply_id)
    if lock and is_pg(conn):
        q = q.with_for_update()
    row = (await conn.execute(q)).first()
    return dict(row._mapping) if row else None


async def set_status(reply_id: int, expected: Sequence[str], values: dict[str, Any], *,
                     conn: AsyncConnection) -> dict[str, Any] | None:
    """Move a reply on only if it is still in one of ``expected`` (approve, reject, retry)."""
    res = await conn.execute(update(T_REPLY).where(T_REPLY.c.id == reply_id, T_REPLY.c.status.in_(list(expected)))
                             .values(**values).returning(T_REPLY))
    row = res.first()
    return dict(row._mapping) if row else None


async def mark_first_response(item_id: int, at: datetime, *, conn: AsyncConnection) -> bool:
    """Set the item's first response (once): its first-response SLA clock stops."""
    res = await conn.execute(update(T_ITEM).where(T_ITEM.c.id == item_id, T_ITEM.c.first_response_at.is_(None))
                             .values(first_response_at=at,
                                     first_touched_at=func.coalesce(T_ITEM.c.first_touched_at, at),
                                     updated_at=at))
    return (res.rowcount or 0) == 1


async def parent_mention(source: str, external_id: str | None, *, conn: AsyncConnection) -> dict[str, Any] | None:
    """The post ``external_id`` of ``source`` (thread context: the parent or root): a stored mention,
    else the context post fetched from the platform (``id`` None; ``gone`` when the platform said it
    does not exist)."""
    return await conn.run_sync(parent_mention_sync, source, external_id)


def parent_mention_sync(c: Connection, source: str, external_id: str | None) -> dict[str, Any] | None:
    if not external_id:
        return None
    row = c.execute(_PARENT, {"p_source": source, "p_ext": external_id}).first()
    if row:
        return {**dict(row._mapping), "gone": False}
    return context_posts.context_post_sync(c, source, external_id)


async def earlier_mentions(source: str, author: str | None, before_id: int, *, conn: AsyncConnection,
                           teams: Sequence[str] | None, limit: int = 10) -> list[dict[str, Any]]:
    """The author's mentions on the same source posted before mention ``before_id`` (at the same time:
    stored before it; without a date from the platform: when fetched) that the caller may see,
    newest first."""
    return await conn.run_sync(earlier_mentions_sync, source, author, before_id, teams=teams, limit=limit)


def earlier_mentions_sync(c: Connection, source: str, author: str | None, before_id: int, *,
                          teams: Sequence[str] | None, limit: int = 10) -> list[dict[str, Any]]:
    if not author:
        return []
    stmt = _earlier_stmt(None if teams is None else tuple(teams))
    return [dict(r._mapping) for r in c.execute(stmt, {"e_source": source, "e_author": author,
                                                       "e_before": before_id, "e_limit": limit})]


@lru_cache(maxsize=64)
def _earlier_stmt(teams: tuple[str, ...] | None) -> Any:
    """``earlier_mentions``'s statement, built once per team set (its teams are bound values of a
    fixed list, not an expanding IN that is rendered anew on each execution)."""
    before = bindparam("e_before", type_=Integer)
    posted = func.coalesce(T_MENTION.c.created_at, T_MENTION.c.fetched_at)  # no date from the platform: fetched
    own = T_MENTION.alias("own")
    this = (select(func.coalesce(own.c.created_at, own.c.fetched_at)).where(own.c.id == before)
            .scalar_subquery())
    q = (select(T_MENTION.c.id, T_MENTION.c.text, T_MENTION.c.created_at, T_ITEM.c.status, T_ITEM.c.team)
         .join(T_ITEM, T_ITEM.c.id == T_MENTION.c.id)
         .where(T_MENTION.c.source == bindparam("e_source"), T_MENTION.c.author_handle == bindparam("e_author"),
                T_MENTION.c.id != before, or_(posted < this, and_(posted == this, T_MENTION.c.id < before)))
         .order_by(posted.desc(), T_MENTION.c.id.desc()).limit(bindparam("e_limit", type_=Integer)))
    if teams is not None:
        q = q.where(T_ITEM.c.team.in_([literal(t, T_ITEM.c.team.type) for t in teams]))
    return q


async def first_response_at(item_id: int, *, conn: AsyncConnection) -> datetime | None:
    row = (await conn.execute(select(T_ITEM.c.first_response_at).where(T_ITEM.c.id == item_id))).first()
    return row[0] if row else None


async def reply_metrics(since: datetime, until: datetime, *, conn: AsyncConnection,
                        team: str | None = None) -> dict[str, Any]:
    """Replies written in the period by status, and the period's items' time to first reply (seconds)."""
    q = (select(T_REPLY.c.status, func.count()).join(T_ITEM, T_ITEM.c.id == T_REPLY.c.item_id)
         .where(T_REPLY.c.created_at >= since, T_REPLY.c.created_at < until).group_by(T_REPLY.c.status))
    d = (select(T_ITEM.c.created_at, T_ITEM.c.first_response_at)
         .where(T_ITEM.c.created_at >= since, T_ITEM.c.created_at < until, T_ITEM.c.first_response_at.is_not(None)))
    if team is not None:
        q, d = q.where(T_ITEM.c.team == team), d.where(T_ITEM.c.team == team)
    by_status = {s: int(n) for s, n in await conn.execute(q)}
    waits = [max(0.0, (f - c).total_seconds()) for c, f in await conn.execute(d)]
    return {"by_status": by_status, "first_reply_seconds": waits}
