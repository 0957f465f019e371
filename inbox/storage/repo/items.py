"""Queue items, their events, notes, claims and transfers."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.types import ItemSummary
from inbox.storage.repo._common import (
    T_CORR,
    T_DECISION,
    T_EVENT,
    T_ITEM,
    T_MENTION,
    T_USER,
    insert_rows,
    insert_rows_sync,
    is_pg,
)
from inbox.storage.tables import ItemStatus

__all__ = ["not_a_copy", "a_copy", "mark_copies", "mark_copies_sync", "insert_items", "insert_items_sync",
           "insert_events", "insert_events_sync", "get_item", "get_item_sync", "list_items", "claim_next_sync",
           "lock_item", "lock_item_sync", "update_item", "update_item_sync", "expire_leases", "events_for",
           "decision_for", "mention_and_decision", "insert_correction_sync", "open_claims_sync", "visible_clause",
           "bound_list",
           "queue_head", "queue_order", "constant", "PRIORITY_LEVELS", "events_for_sync",
           "mention_and_decision_sync", "summaries_by_id_sync"]

_CHUNK = 500


async def insert_items(rows: list[dict[str, Any]], *, conn: AsyncConnection) -> None:
    await insert_rows(conn, T_ITEM, rows)


def insert_items_sync(c: Connection, rows: list[dict[str, Any]]) -> None:
    insert_rows_sync(c, T_ITEM, rows)


async def insert_events(rows: list[dict[str, Any]], *, conn: AsyncConnection) -> None:
    await insert_rows(conn, T_EVENT, rows)


def insert_events_sync(c: Connection, rows: list[dict[str, Any]]) -> None:
    insert_rows_sync(c, T_EVENT, rows)


# the queue_item columns an ItemSummary reads (``_to_summary``): half of the table's, and five of its
# ten timestamps fewer to convert per row
SUMMARY_ITEM_COLUMNS = ("id", "team", "status", "priority", "label", "confidence", "watchers", "lease_expires_at",
                        "first_response_due", "resolve_due", "first_touched_at", "resolved_at", "transfers", "bounces")
# what a statement that writes an item must return for its summary (summary_columns joins the assignee)
SUMMARY_RETURNING = (*SUMMARY_ITEM_COLUMNS, "assignee_id")


def summary_columns(src: Any) -> tuple[list[Any], Any]:
    """The columns of an ItemSummary and their FROM clause, for the item columns of ``src``: the
    queue_item table, or a CTE that returns SUMMARY_RETURNING of the row an UPDATE just wrote
    (repo.claims)."""
    last_decision = (select(func.max(T_DECISION.c.id)).where(T_DECISION.c.mention_id == src.c.id)
                     .correlate(src).scalar_subquery())
    cols = [*(src.c[n] for n in SUMMARY_ITEM_COLUMNS), T_MENTION.c.text, T_MENTION.c.source,
            T_MENTION.c.author_handle, T_MENTION.c.lang, T_MENTION.c.url,
            T_MENTION.c.created_at.label("mention_created_at"), T_USER.c.name.label("assignee_name"),
            T_DECISION.c.reason.label("route_reason"), T_DECISION.c.created_at.label("routed_at")]
    return cols, (src.join(T_MENTION, T_MENTION.c.id == src.c.id)
                  .outerjoin(T_USER, T_USER.c.id == src.c.assignee_id)
                  .outerjoin(T_DECISION, T_DECISION.c.id == last_decision))


def _summary_query() -> Any:
    cols, from_ = summary_columns(T_ITEM)
    return select(*cols).select_from(from_)


def _to_summary(r: Any) -> ItemSummary:
    """From a result row, or a mapping of the same keys (repo.claims)."""
    m = getattr(r, "_mapping", r)
    return ItemSummary(
        id=m["id"], team=m["team"], status=m["status"], priority=m["priority"], label=m["label"],
        confidence=m["confidence"], watchers=list(m["watchers"] or []), assignee=m["assignee_name"],
        text=m["text"], source=m["source"], author=m["author_handle"], lang=m["lang"], url=m["url"],
        created_at=m["mention_created_at"], routed_at=m["routed_at"],
        first_response_due=m["first_response_due"], resolve_due=m["resolve_due"],
        extra={"route_reason": m["route_reason"], "lease_expires_at": m["lease_expires_at"],
               "transfers": m["transfers"], "bounces": m["bounces"],
               "first_touched_at": m["first_touched_at"], "resolved_at": m["resolved_at"]},
    )


def visible_clause(teams: Sequence[str] | None) -> Any:
    """Items of these teams or watched by them; None means everything (admin)."""
    if teams is None:
        return True
    return or_(T_ITEM.c.team.in_(bound_list(teams)), *[_watch_clause(t) for t in teams])


def bound_list(values: Sequence[str]) -> list[Any]:
    """``values`` as one bound parameter each, for ``IN``: with a plain list SQLAlchemy makes one
    "expanding" parameter, whose SQL it renders anew on every execution (the post-compile pass, a
    tenth of a page statement's client CPU); a fixed list keeps the cached statement's SQL as is."""
    return [literal(v, String) for v in values]


_visible = visible_clause  # the name the page reads import


def _watch_clause(team: str) -> Any:
    # JSON array membership without a dialect-specific operator: the stored array is serialised
    # as '["a", "b"]' on both back ends (JSON text on SQLite, jsonb::text on PostgreSQL).
    return func.cast(T_ITEM.c.watchers, type_=T_MENTION.c.text.type).like(f'%"{team}"%')


# Statements of the claim/work hot path, built once: constructing a statement and its cache key
# costs more client CPU than executing it (bench/claims.py).
_GET_BY_ID = _summary_query().where(T_ITEM.c.id == bindparam("item_id"))
_OPEN_CLAIMS = select(func.count()).select_from(T_ITEM).where(
    T_ITEM.c.assignee_id == bindparam("user_id"), T_ITEM.c.status == ItemStatus.CLAIMED,
    or_(T_ITEM.c.lease_expires_at.is_(None), T_ITEM.c.lease_expires_at >= bindparam("now")))
_LOCK_ITEM = select(T_ITEM).where(T_ITEM.c.id == bindparam("item_id"))
_LOCK_ITEM_PG = _LOCK_ITEM.with_for_update()
_UPDATE_BY_ID = update(T_ITEM).where(T_ITEM.c.id == bindparam("_item_id"))


# the open statuses as one bound parameter each: IN over a Python list would be an "expanding"
# parameter, whose SQL SQLAlchemy renders anew on every execution (about 0.1 ms of client CPU per
# claim statement); a fixed list of bound values keeps the cached statement's SQL as it is
_OPEN_BOUND = bound_list(ItemStatus.OPEN)


def a_copy() -> Any:
    """True for a queue item when an older open item of its team holds a copy of its post (the
    same ``copy_key``): a copy is handled with that original and not listed on its own.
    Correlated to ``queue_item`` of the enclosing query: a primary-key probe of its mention,
    then one ``ix_mention_copy_key`` range (copy_key, id < its own)."""
    me, other, orig = T_MENTION.alias("cp_me"), T_MENTION.alias("cp_other"), T_ITEM.alias("cp_orig")
    older = (select(orig.c.id)
             .select_from(me.join(other, and_(other.c.copy_key == me.c.copy_key, other.c.id < me.c.id))
                          .join(orig, orig.c.id == other.c.id))
             .where(me.c.id == T_ITEM.c.id, me.c.copy_key.is_not(None), orig.c.team == T_ITEM.c.team,
                    orig.c.status.in_(_OPEN_BOUND))
             .correlate(T_ITEM))
    return exists(older)


def not_a_copy() -> Any:
    """The items the queue lists: not :func:`a_copy`."""
    return ~a_copy()


def _mark_copies_stmt() -> Any:
    ids: Any = bindparam("ids", expanding=True)
    me, older, newer = T_MENTION.alias("mk_me"), T_MENTION.alias("mk_older"), T_MENTION.alias("mk_newer")
    has_older = select(me.c.id).where(
        me.c.id.in_(ids), me.c.copy_key.is_not(None),
        exists(select(older.c.id).where(older.c.copy_key == me.c.copy_key, older.c.id < me.c.id)))
    # an edited text may now be the older copy of mentions stored after it
    later = (select(newer.c.id)
             .select_from(me.join(newer, and_(newer.c.copy_key == me.c.copy_key, newer.c.id > me.c.id)))
             .where(me.c.id.in_(ids), me.c.copy_key.is_not(None)))
    return (update(T_ITEM).where(T_ITEM.c.id.in_(has_older.union(later)), T_ITEM.c.copy_candidate.is_(False))
            .values(copy_candidate=True))


_MARK_COPIES = _mark_copies_stmt()


async def mark_copies(mention_ids: Sequence[int], *, conn: AsyncConnection) -> None:
    """:func:`mark_copies_sync` on an async connection."""
    if mention_ids:
        await conn.run_sync(mark_copies_sync, mention_ids)


def mark_copies_sync(c: Connection, mention_ids: Sequence[int]) -> None:
    """Mark the items that may be copies (``copy_candidate``) after these mentions were stored or
    their text changed: theirs when an older mention has the same ``copy_key``, and those of later
    mentions with their key. Index probes per mention (ix_mention_copy_key); the queue counts
    look for hidden copies among the marked items only."""
    for i in range(0, len(mention_ids), _CHUNK):
        c.execute(_MARK_COPIES, {"ids": list(mention_ids[i:i + _CHUNK])})


PRIORITY_LEVELS = (3, 2, 1, 0)  # QueueItem.priority: 0 low, 1 normal, 2 high, 3 urgent


def constant(value: int | str, type_: Any) -> Any:
    """``value`` written into the statement's text: an int, or a status name (a fixed word). The
    planner then sees which index range a slice of :func:`queue_head` reads even in a generic plan
    of a prepared statement (PostgreSQL), and nothing is rendered per execution."""
    if isinstance(value, str):
        if value not in ItemStatus.ALL or not value.isidentifier():
            raise ValueError(f"not a status: {value!r}")
        return literal_column(f"'{value}'", type_)
    return literal_column(str(int(value)), type_)


def queue_head(statuses: Sequence[str], team: Any, need: Any) -> Any:
    """A subquery of (id, priority, first_response_due) holding at least the first ``need`` listed
    items (not copies) of ``team`` with one of ``statuses``, unordered: order it by
    :func:`queue_order`. ``team`` and ``need`` are SQL expressions (bound parameters).

    The queue's order is priority, then SLA due time with no due time last, then id.
    ``ix_queue_item_queue`` and ``ix_queue_item_claim`` hold (team, status, priority,
    first_response_due): PostgreSQL's ascending index puts NULLs last, as the queue does, but
    SQLite's puts them first, so ``ORDER BY ... NULLS LAST`` there sorts every open item of the team.
    The head is instead a UNION ALL of small ordered slices, one per (status, priority level, due
    time set or not), each read straight off the index and cut at ``need`` rows."""
    due, prio = T_ITEM.c.first_response_due, T_ITEM.c.priority
    slices = []
    for status in statuses:
        base = select(T_ITEM.c.id, prio, due).where(
            T_ITEM.c.team == team, T_ITEM.c.status == constant(status, T_ITEM.c.status.type), not_a_copy())
        for level in PRIORITY_LEVELS:
            lv = constant(level, Integer)
            slices.append(base.where(prio == lv, due.is_not(None)).order_by(due, T_ITEM.c.id).limit(need))
            slices.append(base.where(prio == lv, due.is_(None)).order_by(T_ITEM.c.id).limit(need))
        # priorities outside the usual 0..3: rare; two index ranges, sorted the plain way
        for cond in (prio > constant(PRIORITY_LEVELS[0], Integer), prio < constant(PRIORITY_LEVELS[-1], Integer)):
            slices.append(base.where(cond).order_by(prio.desc(), due.asc().nulls_last(), T_ITEM.c.id).limit(need))
    return union_all(*[select(*sq.subquery().c) for sq in slices]).subquery()


def queue_order(src: Any) -> tuple[Any, ...]:
    """The queue's order over the columns of ``src``: a :func:`queue_head` subquery or queue_item."""
    return (src.c.priority.desc(), src.c.first_response_due.is_(None), src.c.first_response_due, src.c.id)


def _claim_stmt(expired: bool) -> Any:
    # SQLite (PostgreSQL claims in one statement, repo.claims): the transaction began with BEGIN
    # IMMEDIATE, so this UPDATE ... RETURNING runs under the single writer lock and no two claimers
    # can pick the same row. A new item is the head of the queue (queue_head: index ranges, no sort
    # of the team's new items while the write lock is held); an expired claim is looked for among
    # the few claimed items, sorted the plain way.
    if expired:
        order = (T_ITEM.c.priority.desc(), T_ITEM.c.first_response_due.asc().nulls_last(), T_ITEM.c.id.asc())
        candidate = (select(T_ITEM.c.id)
                     .where(T_ITEM.c.team == bindparam("c_team"), T_ITEM.c.status == ItemStatus.CLAIMED,
                            T_ITEM.c.lease_expires_at < bindparam("c_now"), not_a_copy())
                     .order_by(*order).limit(1))
    else:
        head = queue_head((ItemStatus.NEW,), bindparam("c_team"), constant(1, Integer))
        candidate = select(head.c.id).order_by(*queue_order(head)).limit(1)
    return (update(T_ITEM).where(T_ITEM.c.id == candidate.scalar_subquery())
            .values(status=ItemStatus.CLAIMED, assignee_id=bindparam("c_user_id"), lease_owner=bindparam("c_owner"),
                    lease_expires_at=bindparam("c_lease_until"), updated_at=bindparam("c_now"), assigned_at=None,
                    first_touched_at=func.coalesce(T_ITEM.c.first_touched_at, bindparam("c_now")))
            .returning(T_ITEM.c.id))


_CLAIM = {expired: _claim_stmt(expired) for expired in (False, True)}


@lru_cache(maxsize=256)
def _get_visible_stmt(teams: tuple[str, ...]) -> Any:
    # built once per team set: every item page runs it, and building a statement and its cache
    # key costs more than looking it up
    return _summary_query().where(T_ITEM.c.id == bindparam("item_id"), visible_clause(teams))


async def get_item(item_id: int, *, conn: AsyncConnection, teams: Sequence[str] | None = None) -> ItemSummary | None:
    stmt = _GET_BY_ID if teams is None else _get_visible_stmt(tuple(teams))
    row = (await conn.execute(stmt, {"item_id": item_id})).first()
    return _to_summary(row) if row else None


def get_item_sync(c: Connection, item_id: int) -> ItemSummary | None:
    """:func:`get_item` without a visibility check, on a synchronous connection (a write unit)."""
    row = c.execute(_GET_BY_ID, {"item_id": item_id}).first()
    return _to_summary(row) if row else None


async def list_items(team: str | None, *, conn: AsyncConnection, statuses: Sequence[str] = ItemStatus.OPEN,
                     limit: int = 50, offset: int = 0, teams: Sequence[str] | None = None,
                     watched_by: Sequence[str] | None = None) -> list[ItemSummary]:
    """A queue ordered by priority, then SLA due time, then age."""
    q = _summary_query().where(T_ITEM.c.status.in_(list(statuses)))
    if team is not None:
        q = q.where(T_ITEM.c.team == team)
    if teams is not None:
        q = q.where(visible_clause(teams))
    if watched_by:
        q = q.where(or_(*[_watch_clause(t) for t in watched_by]))
    q = q.order_by(T_ITEM.c.priority.desc(), T_ITEM.c.first_response_due.asc().nulls_last(),
                   T_ITEM.c.id.asc()).limit(limit).offset(offset)
    return [_to_summary(r) for r in await conn.execute(q)]


def summaries_by_id_sync(c: Connection, ids: Sequence[int]) -> dict[int, ItemSummary]:
    """The summaries of these items (no visibility check: the ids come from a query that made it)."""
    if not ids:
        return {}
    rows = c.execute(_summary_query().where(T_ITEM.c.id.in_(list(ids))))
    return {s.id: s for s in map(_to_summary, rows)}


def open_claims_sync(c: Connection, user_id: int, now: datetime) -> int:
    return int(c.execute(_OPEN_CLAIMS, {"user_id": user_id, "now": now}).scalar_one())


def claim_next_sync(c: Connection, team: str, *, user_id: int, owner: str, now: datetime,
                    lease_until: datetime) -> int | None:
    """SQLite, in a write transaction (repo.claims.claim_next): give the next item of ``team`` to
    ``user_id``: the highest priority, earliest due, unclaimed
    item, else the best item whose claim lease expired. Returns its id, or None when the queue is
    empty. New items come first so that the common case is one walk down ix_queue_item_claim
    (team, status, priority DESC, due, id) that stops at the first unlocked row instead of sorting
    the queue; an expired claim waits at most until the lease sweeper puts it back among the new."""
    params = {"c_team": team, "c_now": now, "c_user_id": user_id, "c_owner": owner, "c_lease_until": lease_until}
    for expired in (False, True):
        row = c.execute(_CLAIM[expired], params).first()
        if row is not None:
            return int(row[0])
    return None


async def lock_item(item_id: int, *, conn: AsyncConnection) -> dict[str, Any] | None:
    return await conn.run_sync(lock_item_sync, item_id)


def lock_item_sync(c: Connection, item_id: int) -> dict[str, Any] | None:
    """The item's row, locked until the transaction ends (FOR UPDATE on PostgreSQL; on SQLite the
    write transaction holds the database's lock)."""
    row = c.execute(_LOCK_ITEM_PG if is_pg(c) else _LOCK_ITEM, {"item_id": item_id}).first()
    return dict(row._mapping) if row else None


async def update_item(item_id: int, values: dict[str, Any], *, conn: AsyncConnection) -> None:
    await conn.execute(_UPDATE_BY_ID, {"_item_id": item_id, **values})


def update_item_sync(c: Connection, item_id: int, values: dict[str, Any]) -> None:
    c.execute(_UPDATE_BY_ID, {"_item_id": item_id, **values})


async def expire_leases(*, conn: AsyncConnection, now: datetime) -> list[tuple[int, str]]:
    """Return items whose claim lease expired to their queue; returns (id, team) of each."""
    stmt = (update(T_ITEM).where(T_ITEM.c.status == ItemStatus.CLAIMED, T_ITEM.c.lease_expires_at < now)
            .values(status=ItemStatus.NEW, assignee_id=None, lease_owner=None, lease_expires_at=None,
                    assigned_at=None, updated_at=now).returning(T_ITEM.c.id, T_ITEM.c.team))
    return [(int(i), t) for i, t in await conn.execute(stmt)]


_EVENTS_FOR = select(T_EVENT).where(T_EVENT.c.item_id == bindparam("ev_item")).order_by(T_EVENT.c.id)
_DECISION_FOR = (select(T_DECISION).where(T_DECISION.c.mention_id == bindparam("d_mention"))
                 .order_by(T_DECISION.c.id.desc()).limit(1))
_MENTION_ROW = select(T_MENTION).where(T_MENTION.c.id == bindparam("m_id"))


def events_for_sync(c: Connection, item_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in c.execute(_EVENTS_FOR, {"ev_item": item_id})]


async def events_for(item_id: int, *, conn: AsyncConnection) -> list[dict[str, Any]]:
    return await conn.run_sync(events_for_sync, item_id)


async def decision_for(mention_id: int, *, conn: AsyncConnection) -> dict[str, Any] | None:
    row = (await conn.execute(_DECISION_FOR, {"d_mention": mention_id})).first()
    return dict(row._mapping) if row else None


_INSERT_CORRECTION = T_CORR.insert()


def insert_correction_sync(c: Connection, row: dict[str, Any]) -> None:
    c.execute(_INSERT_CORRECTION, [row])


async def corrections(*, conn: AsyncConnection) -> list[dict[str, Any]]:
    q = (select(T_CORR.c.mention_id, T_CORR.c.label, T_CORR.c.predicted_label, T_CORR.c.reason,
                T_CORR.c.created_at, T_MENTION.c.text, T_MENTION.c.lang)
         .join(T_MENTION, T_MENTION.c.id == T_CORR.c.mention_id).order_by(T_CORR.c.id))
    return [dict(r._mapping) for r in await conn.execute(q)]


async def mention_row(mention_id: int, *, conn: AsyncConnection) -> dict[str, Any] | None:
    row = (await conn.execute(_MENTION_ROW, {"m_id": mention_id})).first()
    return dict(row._mapping) if row else None


# the mention and its latest decision in one statement (pages read both): the decision's columns
# under a prefix, the mention's names clash with them
_D_PREFIX = "d__"
_LATEST_DECISION = (select(func.max(T_DECISION.c.id)).where(T_DECISION.c.mention_id == T_MENTION.c.id)
                    .correlate(T_MENTION).scalar_subquery())
_MENTION_DECISION = (select(T_MENTION, *[c.label(_D_PREFIX + c.name) for c in T_DECISION.c])
                     .select_from(T_MENTION.outerjoin(T_DECISION, T_DECISION.c.id == _LATEST_DECISION))
                     .where(T_MENTION.c.id == bindparam("md_id")))


async def mention_and_decision(mention_id: int, *, conn: AsyncConnection
                               ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """:func:`mention_row` and :func:`decision_for` of one mention, read by one statement."""
    return await conn.run_sync(mention_and_decision_sync, mention_id)


def mention_and_decision_sync(c: Connection, mention_id: int
                              ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    row = c.execute(_MENTION_DECISION, {"md_id": mention_id}).first()
    if row is None:
        return None, None
    m = dict(row._mapping)
    mention = {c.name: m[c.name] for c in T_MENTION.c}
    decision = {c.name: m[_D_PREFIX + c.name] for c in T_DECISION.c}
    return mention, decision if decision["id"] is not None else None
