"""Reads for the brief and the dashboard beyond the manager's metrics: themes (near-duplicate
clusters and the texts for keywords), crises and corrections in a period, and per-agent figures.
Every query is bounded by an indexed time column (queue_item.created_at, crisis.opened_at,
correction.created_at); ``teams`` limits a query to those teams' items (None: every team)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_CORR, T_CRISIS, T_ITEM, T_MENTION, T_USER
from inbox.storage.tables import ItemStatus

__all__ = ["top_clusters", "cluster_examples", "recent_texts", "crises_between", "corrections_between",
           "agent_rows"]


def _period(q: Any, since: datetime, until: datetime, teams: Sequence[str] | None) -> Any:
    q = q.where(T_ITEM.c.created_at >= since, T_ITEM.c.created_at < until, T_ITEM.c.status != ItemStatus.SPAM)
    return q.where(T_ITEM.c.team.in_(list(teams))) if teams is not None else q


async def top_clusters(since: datetime, until: datetime, *, conn: AsyncConnection, teams: Sequence[str] | None,
                       limit: int = 5) -> list[tuple[str, int]]:
    """The ``limit`` near-duplicate clusters with the most items of the period, (key, items)."""
    n = func.count().label("n")
    q = _period(select(T_MENTION.c.cluster_key, n)
                .select_from(T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id))
                .where(T_MENTION.c.cluster_key.is_not(None)), since, until, teams)
    q = q.group_by(T_MENTION.c.cluster_key).order_by(n.desc(), T_MENTION.c.cluster_key).limit(limit)
    return [(str(k), int(c)) for k, c in await conn.execute(q)]


async def cluster_examples(key: str, since: datetime, until: datetime, *, conn: AsyncConnection,
                           teams: Sequence[str] | None, limit: int = 3) -> list[dict[str, Any]]:
    """The first ``limit`` items of one cluster in the period: id, text, source, lang."""
    q = _period(select(T_ITEM.c.id, T_MENTION.c.text, T_MENTION.c.source, T_MENTION.c.lang, T_ITEM.c.team)
                .select_from(T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id))
                .where(T_MENTION.c.cluster_key == key), since, until, teams)
    return [dict(r._mapping) for r in await conn.execute(q.order_by(T_ITEM.c.id).limit(limit))]


async def recent_texts(since: datetime, until: datetime, *, conn: AsyncConnection, teams: Sequence[str] | None,
                       limit: int = 2000) -> list[str]:
    """The texts of the period's latest ``limit`` items (the keywords are counted over them)."""
    q = _period(select(T_MENTION.c.text).select_from(T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)),
                since, until, teams)
    return [str(t) for (t,) in await conn.execute(q.order_by(T_ITEM.c.created_at.desc()).limit(limit))]


async def crises_between(since: datetime, until: datetime, *, conn: AsyncConnection,
                         labels: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Crises opened in [since, until), newest first; with ``labels``, label crises of those labels
    and every cluster crisis."""
    q = (select(T_CRISIS.c.id, T_CRISIS.c.kind, T_CRISIS.c.subject, T_CRISIS.c.label, T_CRISIS.c.status,
                T_CRISIS.c.count, T_CRISIS.c.opened_at, T_CRISIS.c.closed_at)
         .where(T_CRISIS.c.opened_at >= since, T_CRISIS.c.opened_at < until)
         .order_by(T_CRISIS.c.opened_at.desc()).limit(20))
    if labels is not None:
        q = q.where(or_(T_CRISIS.c.kind != "label", T_CRISIS.c.label.in_(list(labels))))
    return [dict(r._mapping) for r in await conn.execute(q)]


async def corrections_between(since: datetime, until: datetime, *, conn: AsyncConnection,
                              teams: Sequence[str] | None) -> list[tuple[str, str, int]]:
    """Corrections (misroutes) made in [since, until) as (from team, to team, count); with ``teams``,
    those out of or into them."""
    n = func.count().label("n")
    q = (select(T_CORR.c.from_team, T_CORR.c.to_team, n)
         .where(T_CORR.c.created_at >= since, T_CORR.c.created_at < until, T_CORR.c.from_team != T_CORR.c.to_team)
         .group_by(T_CORR.c.from_team, T_CORR.c.to_team).order_by(n.desc()))
    if teams is not None:
        q = q.where(or_(T_CORR.c.from_team.in_(list(teams)), T_CORR.c.to_team.in_(list(teams))))
    return [(str(a), str(b), int(c)) for a, b, c in await conn.execute(q)]


async def agent_rows(since: datetime, until: datetime, *, conn: AsyncConnection,
                     teams: Sequence[str] | None) -> list[dict[str, Any]]:
    """The period's items that have an assignee: who, when created, first touched, first response due."""
    q = _period(select(T_USER.c.name, T_USER.c.display_name, T_ITEM.c.created_at, T_ITEM.c.first_touched_at,
                       T_ITEM.c.first_response_due, T_ITEM.c.status)
                .select_from(T_ITEM.join(T_USER, T_USER.c.id == T_ITEM.c.assignee_id))
                .where(and_(T_ITEM.c.assignee_id.is_not(None))), since, until, teams)
    return [dict(r._mapping) for r in await conn.execute(q)]
