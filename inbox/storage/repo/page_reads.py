"""Reads for the web pages and live updates: item states for fan-out, the event log tail for the
periodic re-check, an agent's own items, a mention's thread, and the per-item rows of the
manager's CSV export."""
from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.types import ItemSummary
from inbox.storage.repo._common import T_DECISION, T_EVENT, T_ITEM, T_MENTION, T_USER, T_USER_NOTE
from inbox.storage.repo.items import (
    _summary_query,
    _to_summary,
    _visible,
    a_copy,
    bound_list,
    not_a_copy,
    queue_head,
    queue_order,
    summary_columns,
)
from inbox.storage.tables import ItemStatus

__all__ = ["item_states", "events_after", "max_event_id", "my_items", "report_rows",
           "queue_page", "team_counts", "queue_overview", "item_for_page"]


# the item's latest event id, its version for the live fan-out (ix_event_item: one probe)
_VERSION = (select(func.max(T_EVENT.c.id)).where(T_EVENT.c.item_id == T_ITEM.c.id)
            .correlate(T_ITEM).scalar_subquery())
_ITEM_STATES = (select(T_ITEM.c.id, T_ITEM.c.team, T_ITEM.c.watchers, T_ITEM.c.status, T_ITEM.c.assignee_id,
                       T_USER.c.name.label("assignee"), _VERSION.label("version"))
                .select_from(T_ITEM.outerjoin(T_USER, T_USER.c.id == T_ITEM.c.assignee_id))
                .where(T_ITEM.c.id.in_(bindparam("ids", expanding=True))))


async def item_states(ids: Sequence[int], *, conn: AsyncConnection) -> list[dict[str, Any]]:
    """Team, watchers, status, assignee and a version (the item's latest event id) per item:
    what the live fan-out needs to decide who may hear about a change. Never the text."""
    if not ids:
        return []
    return [dict(r._mapping) for r in await conn.execute(_ITEM_STATES, {"ids": list(ids)})]


async def events_after(last_id: int, *, conn: AsyncConnection, limit: int = 5000) -> list[tuple[int, int | None]]:
    """(event id, item id) of events newer than ``last_id``: a primary-key range scan."""
    q = select(T_EVENT.c.id, T_EVENT.c.item_id).where(T_EVENT.c.id > last_id).order_by(T_EVENT.c.id).limit(limit)
    return [(int(i), item) for i, item in await conn.execute(q)]


async def max_event_id(*, conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.coalesce(func.max(T_EVENT.c.id), 0)))).scalar_one())


async def my_items(user_id: int, *, conn: AsyncConnection, teams: Sequence[str] | None,
                   limit: int = 50) -> list[ItemSummary]:
    """Open items assigned to the user (claimed, replied or waiting), within what they may see."""
    return await conn.run_sync(my_items_sync, user_id, teams=teams, limit=limit)


def my_items_sync(c: Connection, user_id: int, *, teams: Sequence[str] | None, limit: int = 50) -> list[ItemSummary]:
    q = _my_items_stmt(None if teams is None else tuple(teams))
    return [_to_summary(r) for r in c.execute(q, {"mi_user": user_id, "mi_limit": limit})]


def held_by(user: Any) -> Any:
    """The open items assigned to ``user`` (a bound parameter): claimed, replied or waiting."""
    return and_(T_ITEM.c.assignee_id == user,
                T_ITEM.c.status.in_(bound_list([ItemStatus.CLAIMED, ItemStatus.REPLIED, ItemStatus.WAITING])))


# an agent's own items, most urgent first (the /queues overview and a queue page's "assigned to you")
HELD_ORDER = (T_ITEM.c.priority.desc(), T_ITEM.c.first_response_due.asc().nulls_last(), T_ITEM.c.id)


@lru_cache(maxsize=256)
def _my_items_stmt(teams: tuple[str, ...] | None) -> Any:
    # built once per team set: the /queues overview runs it on every load, and building the
    # statement cost more than running it
    return (_summary_query().where(held_by(bindparam("mi_user")), _visible(teams))
            .order_by(*HELD_ORDER).limit(bindparam("mi_limit", type_=Integer)))


async def item_for_page(item_id: int, user_id: int, *, conn: AsyncConnection, teams: Sequence[str] | None
                        ) -> tuple[ItemSummary | None, bool]:
    """The item as ``items.get_item`` gives it to a reader of ``teams``, and whether ``user_id`` has
    an unread notification about it: one statement for what every item page asks first (the
    notifications themselves are read only when there are some)."""
    return await conn.run_sync(item_for_page_sync, item_id, user_id, teams=teams)


def item_for_page_sync(c: Connection, item_id: int, user_id: int, *, teams: Sequence[str] | None
                       ) -> tuple[ItemSummary | None, bool]:
    row = c.execute(_item_page_stmt(None if teams is None else tuple(teams)),
                    {"ip_item": item_id, "ip_user": user_id}).first()
    return (_to_summary(row), bool(row.unread)) if row else (None, False)


@lru_cache(maxsize=256)
def _item_page_stmt(teams: tuple[str, ...] | None) -> Any:
    # built once per team set; the EXISTS reads the user's range of ix_user_notification_user
    unread = exists().where(T_USER_NOTE.c.user_id == bindparam("ip_user"), T_USER_NOTE.c.item_id == T_ITEM.c.id,
                            T_USER_NOTE.c.read_at.is_(None)).correlate(T_ITEM)
    return (_summary_query().add_columns(unread.label("unread"))
            .where(T_ITEM.c.id == bindparam("ip_item"), _visible(teams)))


async def report_rows(since: datetime, *, conn: AsyncConnection, team: str | None = None,
                      batch: int = 2000, until: datetime | None = None) -> AsyncIterator[dict[str, Any]]:
    """One row per queue item created since ``since`` (and before ``until``; optionally of one
    team), for the metrics CSV. No mention text or author: the export is about routing, not content."""
    q = (select(T_ITEM.c.id, T_MENTION.c.source, T_MENTION.c.platform, T_MENTION.c.lang, T_ITEM.c.team,
                T_ITEM.c.status, T_ITEM.c.priority, T_ITEM.c.label, T_ITEM.c.confidence, T_ITEM.c.watchers,
                T_USER.c.name.label("assignee"), T_ITEM.c.created_at, T_ITEM.c.first_touched_at,
                T_ITEM.c.resolved_at, T_ITEM.c.first_response_due, T_ITEM.c.resolve_due, T_ITEM.c.transfers,
                T_ITEM.c.bounces, T_ITEM.c.breached_first_response, T_ITEM.c.breached_resolution)
         .select_from(T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
                      .outerjoin(T_USER, T_USER.c.id == T_ITEM.c.assignee_id))
         .where(T_ITEM.c.created_at >= since).order_by(T_ITEM.c.id))
    if team is not None:
        q = q.where(T_ITEM.c.team == team)
    if until is not None:
        q = q.where(T_ITEM.c.created_at < until)
    result = await conn.stream(q.execution_options(yield_per=batch))
    async for r in result:
        yield dict(r._mapping)


async def queue_page(team: str | None, *, conn: AsyncConnection, statuses: Sequence[str] = ItemStatus.OPEN,
                     limit: int = 50, offset: int = 0, teams: Sequence[str] | None = None) -> list[ItemSummary]:
    """Same order and result as ``items.list_items`` (priority, then SLA due time with no due time
    last, then id) less the copies of a post whose original is open in the team (they are one
    item: views.not_a_copy), built so that a queue of tens of thousands of open items costs a few
    index range scans instead of a sort: the page's ids come from one UNION ALL of small ordered
    slices, one per (status, priority level, due time set or not), each read straight off the
    ``ix_queue_item_queue`` index (team, status, priority, first_response_due); the summaries of
    just those rows are joined to them in the same statement (one round trip per page). The
    statement is built once per status set."""
    return await conn.run_sync(queue_page_sync, team, statuses=statuses, limit=limit, offset=offset, teams=teams)


def queue_page_sync(c: Connection, team: str | None, *, statuses: Sequence[str] = ItemStatus.OPEN, limit: int = 50,
                    offset: int = 0, teams: Sequence[str] | None = None) -> list[ItemSummary]:
    if team is None or teams is not None:
        return _queue_page_sorted(c, team, statuses=statuses, limit=limit, offset=offset, teams=teams)
    stmt = _page_summaries_stmt(tuple(dict.fromkeys(statuses)))
    rows = c.execute(stmt, {"q_team": team, "q_need": offset + limit, "q_limit": limit, "q_offset": offset})
    return [_to_summary(r) for r in rows]


@lru_cache(maxsize=32)
def page_ids_stmt(statuses: tuple[str, ...]) -> Any:
    # The status and priority level of each slice are constants in the statement's text
    # (items.constant); the team is a bound parameter: the index's leading column, an equality in
    # every slice, which a generic plan reads the same way. The row counts (each slice's LIMIT, the
    # page's LIMIT and OFFSET) are written into the text at execution (literal_execute): given as
    # parameters, PostgreSQL's generic plan of the prepared statement assumes a LIMIT keeps a tenth
    # of the rows, costs it above the custom plans, and so plans this ten-slice statement anew on
    # every execution (5-15 ms of planning for 1-2 ms of execution). With the numbers in the text
    # the generic plan is taken after the first five executions of each page size and offset.
    def count(name: str) -> Any:
        return bindparam(name, type_=Integer, literal_execute=True)
    head = queue_head(statuses, bindparam("q_team", type_=T_ITEM.c.team.type), count("q_need"))
    return select(head.c.id).order_by(*queue_order(head)).limit(count("q_limit")).offset(count("q_offset"))


@lru_cache(maxsize=32)
def _summary_columns() -> list[Any]:
    """The columns of ``items._summary_query``: the item's, its mention's, the assignee's name and
    the latest routing decision's reason and time (the callers join those tables)."""
    return summary_columns(T_ITEM)[0]


@lru_cache(maxsize=32)  # one statement object per status set: compiled once (SQLAlchemy's cache)
def _page_summaries_stmt(statuses: tuple[str, ...]) -> Any:
    """``page_ids_stmt``'s ids with the columns of ``items._summary_query``, in the page's order; the
    latest routing decision of each through a grouped subquery over just the page's ids."""
    page = page_ids_stmt(statuses).cte("page")  # read twice below, computed once
    last = (select(T_DECISION.c.mention_id, func.max(T_DECISION.c.id).label("did"))
            .where(T_DECISION.c.mention_id.in_(select(page.c.id))).group_by(T_DECISION.c.mention_id).subquery())
    return (select(*_summary_columns())
            .select_from(page.join(T_ITEM, T_ITEM.c.id == page.c.id)
                         .join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
                         .outerjoin(T_USER, T_USER.c.id == T_ITEM.c.assignee_id)
                         .outerjoin(last, last.c.mention_id == T_ITEM.c.id)
                         .outerjoin(T_DECISION, T_DECISION.c.id == last.c.did))
            .order_by(*queue_order(T_ITEM)))


def _by_ids_stmt() -> Any:
    """The columns of ``items._summary_query`` for a set of ids, joining each item's latest
    routing decision through a grouped subquery over just those ids (a join condition on a
    correlated max() makes PostgreSQL probe routing_decision once per candidate row)."""
    ids: Any = bindparam("ids", expanding=True)
    last = (select(T_DECISION.c.mention_id, func.max(T_DECISION.c.id).label("did"))
            .where(T_DECISION.c.mention_id.in_(ids)).group_by(T_DECISION.c.mention_id).subquery())
    return (select(*_summary_columns())
            .select_from(T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
                         .outerjoin(T_USER, T_USER.c.id == T_ITEM.c.assignee_id)
                         .outerjoin(last, last.c.mention_id == T_ITEM.c.id)
                         .outerjoin(T_DECISION, T_DECISION.c.id == last.c.did))
            .where(T_ITEM.c.id.in_(ids)))


_BY_IDS = _by_ids_stmt()


def _summaries(c: Connection, ids: list[int]) -> list[ItemSummary]:
    if not ids:
        return []
    rows = {r._mapping["id"]: _to_summary(r) for r in c.execute(_BY_IDS, {"ids": ids})}
    return [rows[i] for i in ids if i in rows]


def _queue_page_sorted(c: Connection, team: str | None, *, statuses: Sequence[str], limit: int, offset: int,
                       teams: Sequence[str] | None) -> list[ItemSummary]:
    q = select(T_ITEM.c.id).where(T_ITEM.c.status.in_(list(statuses)), not_a_copy())
    if team is not None:
        q = q.where(T_ITEM.c.team == team)
    if teams is not None:
        q = q.where(_visible(teams))
    q = q.order_by(T_ITEM.c.priority.desc(), T_ITEM.c.first_response_due.asc().nulls_last(),
                   T_ITEM.c.id.asc()).limit(limit).offset(offset)
    return _summaries(c, [int(r[0]) for r in c.execute(q)])


# Counts read only columns of the queue index (team, status, priority, first_response_due, and the
# row id it carries), so they are index-only scans; the oldest open item is the one with the
# lowest id (ids grow with ingestion time; transfers keep both), fetched by primary key. The
# copies the queue does not list (items.a_copy) are counted apart and subtracted: looked for only
# among the marked candidates (ix_queue_item_copies, a partial index of those few rows), so no
# open item but those is probed for an original. The oldest open item is never a hidden copy.
_OPEN = list(ItemStatus.OPEN)
_SUMS = (func.count(), func.sum(func.cast(T_ITEM.c.status == ItemStatus.NEW, T_ITEM.c.priority.type)),
         func.sum(func.cast(T_ITEM.c.first_response_due < bindparam("tc_now"), T_ITEM.c.priority.type)))
_COUNTS_COLS = (*_SUMS, func.min(T_ITEM.c.id))
_TEAM_COUNTS = select(*_COUNTS_COLS).where(T_ITEM.c.team == bindparam("tc_team"), T_ITEM.c.status.in_(_OPEN))
_ALL_COUNTS = select(T_ITEM.c.team, *_COUNTS_COLS).where(T_ITEM.c.status.in_(_OPEN)).group_by(T_ITEM.c.team)
_HIDDEN = (T_ITEM.c.copy_candidate, T_ITEM.c.status.in_(_OPEN), a_copy())  # copy_candidate: the partial index
_TEAM_HIDDEN = select(*_SUMS).where(T_ITEM.c.team == bindparam("tc_team"), *_HIDDEN)
_CREATED = select(T_ITEM.c.id, T_ITEM.c.created_at).where(T_ITEM.c.id.in_(bindparam("ids", expanding=True)))
_CREATED_ONE = select(T_ITEM.c.id, T_ITEM.c.created_at).where(T_ITEM.c.id == bindparam("tc_id"))


def _less(n: Any, new: Any, overdue: Any, hidden: Sequence[Any] | None) -> tuple[int, int, int]:
    h = [int(v or 0) for v in hidden] if hidden is not None else [0, 0, 0]
    return int(n or 0) - h[0], int(new or 0) - h[1], int(overdue or 0) - h[2]


async def team_counts(team: str, *, conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """One queue's open, new (unclaimed), overdue counts and oldest open item's creation time, of
    the items its list shows (copies of an open original are not)."""
    params = {"tc_team": team, "tc_now": now}
    n, new, overdue, first = (await conn.execute(_TEAM_COUNTS, params)).one()
    hidden = (await conn.execute(_TEAM_HIDDEN, params)).one() if n else None
    oldest = (await conn.execute(_CREATED_ONE, {"tc_id": first})).first() if first is not None else None
    n, new, overdue = _less(n, new, overdue, hidden)
    return {"open": n, "new": new, "oldest": oldest[1] if oldest else None, "overdue": overdue}


async def queue_overview(*, conn: AsyncConnection, now: datetime) -> dict[str, dict[str, Any]]:
    """Per team: open, new (unclaimed), overdue items and the oldest open item's creation time, of
    the items the team's list shows."""
    rows = [tuple(r) for r in await conn.execute(_ALL_COUNTS, {"tc_now": now})]
    # one team at a time: a range of ix_queue_item_copies each (grouped over all teams, SQLite
    # walks every open item by status instead)
    hidden = {r[0]: (await conn.execute(_TEAM_HIDDEN, {"tc_team": r[0], "tc_now": now})).one() for r in rows}
    firsts = [r[4] for r in rows if r[4] is not None]
    created = dict(tuple(r) for r in await conn.execute(_CREATED, {"ids": firsts})) if firsts else {}
    out = {}
    for team, n, new, overdue, first in rows:
        n, new, overdue = _less(n, new, overdue, hidden.get(team))
        out[team] = {"open": n, "new": new, "oldest": created.get(first), "overdue": overdue}
    return out
