"""Candidates for the "help the model" view: open, model-labeled items of some teams that nobody has
confirmed or corrected yet, least confident first, with their text, cluster and the probabilities of
their latest routing decision (inbox.domain.uncertainty orders and spreads them)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_CORR, T_DECISION, T_ITEM, T_MENTION
from inbox.storage.tables import ItemStatus

__all__ = ["candidates"]


async def candidates(*, conn: AsyncConnection, teams: Sequence[str] | None, limit: int = 500
                     ) -> list[dict[str, Any]]:
    """Up to ``limit`` open items of ``teams`` (None: all) with a model label and no correction, nor
    a correction of a copy of their post (the same cluster_key): one answer covers a cluster."""
    answered = T_MENTION.alias("answered")
    copy_answered = exists().where(answered.c.cluster_key == T_MENTION.c.cluster_key,
                                   T_CORR.c.mention_id == answered.c.id)
    q = (select(T_ITEM.c.id, T_ITEM.c.team, T_ITEM.c.label, T_ITEM.c.confidence, T_ITEM.c.status,
                T_MENTION.c.text, T_MENTION.c.lang, T_MENTION.c.cluster_key)
         .join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
         .where(T_ITEM.c.status.in_(list(ItemStatus.OPEN)), T_ITEM.c.label.is_not(None),
                T_ITEM.c.confidence.is_not(None), ~exists().where(T_CORR.c.mention_id == T_ITEM.c.id), ~copy_answered)
         .order_by(T_ITEM.c.confidence, T_ITEM.c.id).limit(limit))
    if teams is not None:
        q = q.where(T_ITEM.c.team.in_(list(teams)))
    rows = [dict(r._mapping) for r in await conn.execute(q)]
    if not rows:
        return rows
    ids = [r["id"] for r in rows]
    latest = (select(func.max(T_DECISION.c.id)).where(T_DECISION.c.mention_id.in_(ids))
              .group_by(T_DECISION.c.mention_id))
    probs = {m: p for m, p in await conn.execute(
        select(T_DECISION.c.mention_id, T_DECISION.c.probabilities).where(T_DECISION.c.id.in_(latest)))}
    for r in rows:
        r["probabilities"] = probs.get(r["id"]) or {}
    return rows
