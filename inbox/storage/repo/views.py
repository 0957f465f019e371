"""The work views: one query per view over the items a user may see (mine, a team's open items,
unassigned, claimed by others, waiting, resolved, triage), sorted by priority, age or SLA due."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, exists, literal, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.types import ItemSummary
from inbox.storage.repo._common import T_ITEM, T_MENTION
from inbox.storage.repo.items import _summary_query, _to_summary, not_a_copy, visible_clause
from inbox.storage.tables import ItemStatus

__all__ = ["VIEWS", "SORTS", "view_items", "similar_open", "not_a_copy"]

VIEWS = ("mine", "open", "unassigned", "others", "waiting", "resolved", "triage")
SORTS = ("priority", "age", "due")


def _held(now: datetime) -> Any:
    return and_(T_ITEM.c.status == ItemStatus.CLAIMED,
                or_(T_ITEM.c.lease_expires_at.is_(None), T_ITEM.c.lease_expires_at >= now))


def _condition(view: str, user_id: int, now: datetime, triage_team: str) -> Any:
    if view == "mine":
        return and_(T_ITEM.c.assignee_id == user_id, T_ITEM.c.status.in_(ItemStatus.OPEN))
    if view == "open":
        return T_ITEM.c.status.in_(ItemStatus.OPEN)
    if view == "unassigned":
        return or_(T_ITEM.c.status == ItemStatus.NEW,
                   and_(T_ITEM.c.status == ItemStatus.CLAIMED, T_ITEM.c.lease_expires_at < now))
    if view == "others":
        return and_(_held(now), T_ITEM.c.assignee_id != user_id)
    if view == "waiting":
        return T_ITEM.c.status == ItemStatus.WAITING
    if view == "resolved":
        return T_ITEM.c.status.in_((ItemStatus.RESOLVED, ItemStatus.SPAM))
    if view == "triage":
        return and_(T_ITEM.c.team == triage_team, T_ITEM.c.status.in_(ItemStatus.OPEN))
    raise ValueError(f"unknown view {view!r}")


def _order(view: str, sort: str) -> list[Any]:
    if view == "resolved":
        return [T_ITEM.c.resolved_at.desc().nulls_last(), T_ITEM.c.id.desc()]
    if sort == "age":
        return [T_ITEM.c.created_at.asc(), T_ITEM.c.id.asc()]
    if sort == "due":
        return [T_ITEM.c.first_response_due.asc().nulls_last(), T_ITEM.c.id.asc()]
    return [T_ITEM.c.priority.desc(), T_ITEM.c.first_response_due.asc().nulls_last(), T_ITEM.c.id.asc()]


async def view_items(view: str, *, conn: AsyncConnection, user_id: int, teams: Sequence[str] | None, now: datetime,
                     triage_team: str, team: str | None = None, sort: str = "priority", limit: int = 50,
                     offset: int = 0) -> list[ItemSummary]:
    """The items of ``view`` that a user who sees ``teams`` (None: all) may see."""
    q = _summary_query().where(_condition(view, user_id, now, triage_team), visible_clause(teams))
    if team is not None:
        q = q.where(T_ITEM.c.team == team)
    q = q.order_by(*_order(view, sort)).limit(limit).offset(offset)
    return [_to_summary(r) for r in await conn.execute(q)]


def _similar_open_stmt(one: bool) -> Any:
    """Pairs (item, open copy in its team): the same ``copy_key`` (what ``same_post`` compares,
    hashed; an ``ix_mention_copy_key`` range) within the same ``cluster_key``. ``one``: for a single
    item (a plain bound id; a list of ids is an expanding parameter, rendered anew per execution).
    The copy's team and status are tested in an EXISTS on its primary key: as a join, SQLite's
    planner (which has no statistics) read every open item of the team off ``ix_queue_item_claim``
    and probed each one's mention, 4-6 ms at a million mentions, instead of the few copies."""
    me = T_ITEM.alias("me")
    other = T_ITEM.alias("other")
    m_me = T_MENTION.alias("m_me")
    m_other = T_MENTION.alias("m_other")
    which = me.c.id == bindparam("id") if one else me.c.id.in_(bindparam("ids", expanding=True))
    open_in_team = exists().where(other.c.id == m_other.c.id, other.c.team == me.c.team,
                                  other.c.status.in_([literal(st, String) for st in ItemStatus.OPEN]))
    return (select(me.c.id, m_other.c.id)
            .select_from(me.join(m_me, m_me.c.id == me.c.id)
                         .join(m_other, and_(m_other.c.copy_key == m_me.c.copy_key,
                                             m_other.c.cluster_key == m_me.c.cluster_key, m_other.c.id != m_me.c.id)))
            .where(which, m_me.c.copy_key.is_not(None), open_in_team)
            .order_by(me.c.id, m_other.c.id))


# every item page asks: built once, since building four aliases' columns costs more than the query
_SIMILAR_OPEN_ONE = _similar_open_stmt(one=True)
_SIMILAR_OPEN = _similar_open_stmt(one=False)


async def similar_open(ids: Sequence[int], *, conn: AsyncConnection) -> dict[int, list[int]]:
    """For each item, the other open items of its team whose mention is a copy of its own post (the
    same words and numbers once handles, links, RT prefixes and punctuation are set aside: the same
    ``copy_key`` that ingest stores, and so the same ``cluster_key``)."""
    return await conn.run_sync(similar_open_sync, ids)


def similar_open_sync(c: Connection, ids: Sequence[int]) -> dict[int, list[int]]:
    if not ids:
        return {}
    if len(ids) == 1:
        rows = c.execute(_SIMILAR_OPEN_ONE, {"id": ids[0]})
    else:
        rows = c.execute(_SIMILAR_OPEN, {"ids": list(ids)})
    out: dict[int, list[int]] = {}
    for a, b in rows:
        out.setdefault(int(a), []).append(int(b))
    return out
