"""The rows of item lists (``QueueRow``: the columns a row shows, ``item_row`` in macros.html): a
queue page's, for the team's unclaimed items in the queue's order and for the reader's own open
items of the team, and an item page's conversation (the other queued mentions of its thread).

The page shows fifty rows of a few fields each, so it reads those fields only: the same ids in the
same order as ``page_reads.queue_page`` (whose whole summaries the API returns), without the
assignee's join, the latest routing decision's lookup per row, or the labels, watchers and
timestamps a row does not display (bench/RESULTS.md, "Queue pages read what their rows show")."""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, or_, select
from sqlalchemy.engine import Connection

from inbox.domain.types import QueueRow
from inbox.storage.repo._common import T_ITEM, T_MENTION
from inbox.storage.repo.items import _visible, queue_order
from inbox.storage.repo.page_reads import HELD_ORDER, held_by, page_ids_stmt
from inbox.storage.tables import ItemStatus

__all__ = ["queue_rows_sync", "my_queue_rows_sync", "thread_rows_sync"]

_COLUMNS = (T_ITEM.c.id, T_ITEM.c.team, T_ITEM.c.status, T_ITEM.c.priority, T_MENTION.c.text, T_MENTION.c.source,
            T_MENTION.c.author_handle, T_ITEM.c.first_response_due, T_ITEM.c.resolve_due, T_ITEM.c.first_touched_at,
            T_ITEM.c.resolved_at)
_FROM = T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)


def _row(r: Any) -> QueueRow:
    (id_, team, status, priority, text, source, author, first_due, resolve_due, touched, resolved) = r
    return QueueRow(id=id_, team=team, status=status, priority=priority, text=text, source=source, author=author,
                    first_response_due=first_due, resolve_due=resolve_due,
                    extra={"first_touched_at": touched, "resolved_at": resolved})


def queue_rows_sync(c: Connection, team: str, *, statuses: Sequence[str] = ItemStatus.OPEN, limit: int = 50,
                    offset: int = 0) -> list[QueueRow]:
    """Rows of ``team``'s items with one of ``statuses``, in the queue's order from ``offset``:
    the items of ``page_reads.queue_page`` for the same arguments."""
    stmt = _page_rows_stmt(tuple(dict.fromkeys(statuses)))
    return [_row(r) for r in c.execute(stmt, {"q_team": team, "q_need": offset + limit, "q_limit": limit,
                                              "q_offset": offset})]


def my_queue_rows_sync(c: Connection, user_id: int, team: str, *, limit: int = 50) -> list[QueueRow]:
    """Rows of the open items of ``team`` assigned to the user (claimed, replied or waiting), most
    urgent first, as the "assigned to you" list of the team's queue page shows them."""
    return [_row(r) for r in c.execute(_MINE, {"mq_user": user_id, "mq_team": team, "mq_limit": limit})]


@lru_cache(maxsize=32)  # one statement per status set: compiled once (SQLAlchemy's cache)
def _page_rows_stmt(statuses: tuple[str, ...]) -> Any:
    page = page_ids_stmt(statuses).cte("page")
    return (select(*_COLUMNS).select_from(page.join(T_ITEM, T_ITEM.c.id == page.c.id)
                                          .join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id))
            .order_by(*queue_order(T_ITEM)))


_MINE = (select(*_COLUMNS).select_from(_FROM)
         .where(held_by(bindparam("mq_user")), T_ITEM.c.team == bindparam("mq_team"))
         .order_by(*HELD_ORDER).limit(bindparam("mq_limit", type_=Integer)))


def thread_rows_sync(c: Connection, item_id: int, thread_id: str | None, reply_to_id: str | None, source: str, *,
                     teams: Sequence[str] | None, limit: int = 20) -> list[QueueRow]:
    """Rows of the other queued mentions of the same conversation that a reader of ``teams`` may
    see (same source and thread, or the post this one replies to), oldest first."""
    # the source is repeated inside each OR branch so that every branch is an index probe on its
    # own, (source, thread_id) or (source, external_id): SQLite only ORs index lookups whose terms
    # are each indexable, and otherwise walks every mention of the source
    by_thread, by_reply = bool(thread_id), bool(reply_to_id and reply_to_id != thread_id)
    if not by_thread and not by_reply:
        return []
    q = _thread_stmt(by_thread, by_reply, None if teams is None else tuple(teams))
    return [_row(r) for r in c.execute(q, {"t_source": source, "t_thread": thread_id, "t_reply": reply_to_id,
                                           "t_item": item_id, "t_limit": limit})]


@lru_cache(maxsize=256)
def _thread_stmt(by_thread: bool, by_reply: bool, teams: tuple[str, ...] | None) -> Any:
    # built once per shape and team set: every item page runs it
    src = T_MENTION.c.source == bindparam("t_source")
    conds = []
    if by_thread:
        conds.append(and_(src, T_MENTION.c.thread_id == bindparam("t_thread")))
        conds.append(and_(src, T_MENTION.c.external_id == bindparam("t_thread")))
    if by_reply:
        conds.append(and_(src, T_MENTION.c.external_id == bindparam("t_reply")))
    return (select(*_COLUMNS).select_from(_FROM)
            .where(or_(*conds), T_ITEM.c.id != bindparam("t_item"), _visible(teams))
            .order_by(T_MENTION.c.created_at.asc().nulls_last(), T_ITEM.c.id)
            .limit(bindparam("t_limit", type_=Integer)))
