"""The refiner's queries (inbox/ingest/second_look.py): take candidates, read them, apply a refined routing."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_DECISION, T_EVENT, T_ITEM, T_MENTION, is_pg
from inbox.storage.tables import ItemStatus

__all__ = ["take", "candidates", "apply", "update_decision", "insert_event"]

# an item people have not touched: new, nobody assigned or leasing it, never transferred or answered
_UNTOUCHED = (T_ITEM.c.status == ItemStatus.NEW, T_ITEM.c.assignee_id.is_(None), T_ITEM.c.lease_owner.is_(None),
              T_ITEM.c.transfers == 0, T_ITEM.c.first_touched_at.is_(None))


def _take_stmt(pg: bool, among: bool = False) -> Any:
    if among:
        # only these items (an import refining what it just brought in, all of them): primary key
        # lookups. The refined_at test stays outside the pick, or PostgreSQL without statistics may
        # walk the partial index below past every other unrefined item to find them
        pick = select(T_ITEM.c.id).where(T_ITEM.c.id.in_(bindparam("t_ids", expanding=True))).order_by(T_ITEM.c.id)
    else:
        # only the partial index's own condition: the planner walks ix_queue_item_refine in order on both
        # back ends; an item people already touched is taken too (and marked), then left alone by the caller
        pick = select(T_ITEM.c.id).where(T_ITEM.c.refined_at.is_(None)).order_by(T_ITEM.c.confidence, T_ITEM.c.id)
    pick = pick.limit(bindparam("t_limit"))
    if pg:
        # several instances: each takes different rows instead of queueing on the same ones
        pick = pick.with_for_update(skip_locked=True)
    # SQLite: the write transaction holds the single writer lock, so two takers never overlap
    return (update(T_ITEM).where(T_ITEM.c.id.in_(pick.scalar_subquery()), T_ITEM.c.refined_at.is_(None))
            .values(refined_at=bindparam("t_now")).returning(T_ITEM.c.id))


_TAKE = {(pg, among): _take_stmt(pg, among) for pg in (False, True) for among in (False, True)}


async def take(limit: int, now: datetime, *, conn: AsyncConnection, among: list[int] | None = None) -> list[int]:
    """Mark up to ``limit`` unrefined items as refined (least confident first) and return their ids:
    whoever takes an item refines it if it is still untouched (:func:`candidates` says); if that
    instance dies, the item keeps its first routing.  ``among``: only items with these ids, in id order."""
    params: dict[str, Any] = {"t_limit": limit, "t_now": now}
    if among is not None:
        if not among:
            return []
        params["t_ids"] = among
    rows = await conn.execute(_TAKE[is_pg(conn), among is not None], params)
    return sorted(int(r[0]) for r in rows)


async def candidates(ids: list[int], *, conn: AsyncConnection) -> list[dict[str, Any]]:
    """Item, mention facts, ``"untouched"`` (new, nobody assigned or leasing it, never transferred or
    answered) and latest routing decision (``"decision"``) of each id, in id order."""
    if not ids:
        return []
    q = (
        select(
            T_ITEM.c.id,
            T_ITEM.c.team,
            T_ITEM.c.priority,
            T_ITEM.c.label,
            T_ITEM.c.confidence,
            T_ITEM.c.created_at,
            T_ITEM.c.crisis_id,
            and_(*_UNTOUCHED).label("untouched"),
            T_MENTION.c.text,
            T_MENTION.c.source,
            T_MENTION.c.platform,
            T_MENTION.c.author_handle,
            T_MENTION.c.lang,
            T_MENTION.c.author_followers,
        )
        .join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
        .where(T_ITEM.c.id.in_(ids))
        .order_by(T_ITEM.c.id)
    )
    out = [dict(r._mapping) for r in await conn.execute(q)]
    decisions: dict[int, dict[str, Any]] = {}
    dq = select(T_DECISION).where(T_DECISION.c.mention_id.in_(ids)).order_by(T_DECISION.c.id)
    for r in await conn.execute(dq):
        decisions[int(r.mention_id)] = dict(r._mapping)  # the last one wins
    for row in out:
        row["decision"] = decisions.get(row["id"])
    return out


_APPLY = update(T_ITEM).where(T_ITEM.c.id == bindparam("a_id"), *_UNTOUCHED)


async def apply(item_id: int, values: dict[str, Any], *, conn: AsyncConnection) -> bool:
    """Write the refined routing if nobody has touched the item since it was taken; True if written."""
    res = await conn.execute(_APPLY.values(**values), {"a_id": item_id})
    return bool(res.rowcount)


_UPDATE_DECISION = update(T_DECISION).where(T_DECISION.c.id == bindparam("d_id"))


async def update_decision(decision_id: int, values: dict[str, Any], *, conn: AsyncConnection) -> None:
    """Rewrite the item's routing decision in place: one decision per mention stays the rule (the
    first routing is kept inside its explanation, and the move is an event)."""
    await conn.execute(_UPDATE_DECISION.values(**values), {"d_id": decision_id})


async def insert_event(row: dict[str, Any], *, conn: AsyncConnection) -> None:
    await conn.execute(T_EVENT.insert(), [row])
