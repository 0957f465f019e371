"""A queue page's rows: the columns its rows show (``QueueRow``), for the team's unclaimed items in
the queue's order and for the reader's own open items of the team.

The page shows fifty rows of a few fields each, so it reads those fields only: the same ids in the
same order as ``page_reads.queue_page`` (whose whole summaries the API returns), without the
assignee's join, the latest routing decision's lookup per row, or the labels, watchers and
timestamps a row does not display (bench/RESULTS.md, "Queue pages read what their rows show")."""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.engine import Connection

from inbox.domain.types import QueueRow
from inbox.storage.repo._common import T_ITEM, T_MENTION
from inbox.storage.repo.items import bound_list, queue_order
from inbox.storage.repo.page_reads import page_ids_stmt
from inbox.storage.tables import ItemStatus

__all__ = ["queue_rows_sync", "my_queue_rows_sync"]

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
         .where(T_ITEM.c.assignee_id == bindparam("mq_user"), T_ITEM.c.team == bindparam("mq_team"),
                T_ITEM.c.status.in_(bound_list([ItemStatus.CLAIMED, ItemStatus.REPLIED, ItemStatus.WAITING])))
         .order_by(T_ITEM.c.priority.desc(), T_ITEM.c.first_response_due.asc().nulls_last(), T_ITEM.c.id)
         .limit(bindparam("mq_limit", type_=Integer)))
