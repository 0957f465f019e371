"""Edited mentions: the stored version of re-delivered mentions, the update to the latest text,
the earlier texts (mention_revision) and re-routing an item nobody has touched."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_EVENT, T_ITEM, T_MENTION, T_REVISION
from inbox.storage.tables import ItemStatus

__all__ = ["stored_versions", "update_text", "add_revision", "reroute_if_untouched", "item_exists", "revisions_for",
           "ROUTER"]

ROUTER = "router"
"""The actor of the events the inbox writes itself when it routes an item."""


async def stored_versions(keys: Sequence[tuple[str, str]], *, conn: AsyncConnection
                          ) -> dict[tuple[str, str], dict[str, Any]]:
    """id, text, edited_at and created_at of the stored mentions among ``keys``."""
    if not keys:
        return {}
    q = (select(T_MENTION.c.id, T_MENTION.c.source, T_MENTION.c.external_id, T_MENTION.c.text,
                T_MENTION.c.edited_at, T_MENTION.c.created_at, T_MENTION.c.fetched_at)
         .where(tuple_(T_MENTION.c.source, T_MENTION.c.external_id).in_(list(keys))))
    return {(r.source, r.external_id): dict(r._mapping) for r in await conn.execute(q)}


def update_text(c: Connection, mention_id: int, values: dict[str, Any]) -> bool:
    """Store an edit's text and fields, unless a newer edit is already stored (two instances, a
    late re-delivery). ``values["edited_at"]`` is the edit's time."""
    edited = values["edited_at"]
    res = c.execute(
        update(T_MENTION).where(T_MENTION.c.id == mention_id,
                                or_(T_MENTION.c.edited_at.is_(None), T_MENTION.c.edited_at < edited))
        .values(**values))
    return (res.rowcount or 0) == 1


def add_revision(c: Connection, mention_id: int, text: str, edited_at: datetime | None, now: datetime) -> None:
    """Keep ``text``, current since ``edited_at``, as an earlier version of the mention."""
    c.execute(T_REVISION.insert().values(mention_id=mention_id, text=text, edited_at=edited_at,
                                                  recorded_at=now))


def reroute_if_untouched(c: Connection, item_id: int, values: dict[str, Any]) -> bool:
    """Move the item to a new routing (team, label, priority, due times ...) only while nobody has
    touched it: still new, unassigned, and no event but the router's. One conditional UPDATE, so a
    claim that lands first wins."""
    touched = exists().where(and_(T_EVENT.c.item_id == item_id,
                                  or_(T_EVENT.c.actor.is_(None), T_EVENT.c.actor != ROUTER)))
    res = c.execute(
        update(T_ITEM).where(T_ITEM.c.id == item_id, T_ITEM.c.status == ItemStatus.NEW,
                             T_ITEM.c.assignee_id.is_(None), T_ITEM.c.first_touched_at.is_(None), ~touched)
        .values(**values))
    return (res.rowcount or 0) == 1


def item_exists(c: Connection, item_id: int) -> bool:
    return c.execute(select(T_ITEM.c.id).where(T_ITEM.c.id == item_id)).first() is not None


async def revisions_for(mention_id: int, *, conn: AsyncConnection) -> list[dict[str, Any]]:
    """The earlier texts of a mention, newest first."""
    return await conn.run_sync(revisions_for_sync, mention_id)


def revisions_for_sync(c: Connection, mention_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in c.execute(_REVISIONS_FOR, {"rv_mention": mention_id})]


# every item page asks: built once (building a statement cost more client CPU than running it)
_REVISIONS_FOR = (select(T_REVISION.c.text, T_REVISION.c.edited_at, T_REVISION.c.recorded_at)
                  .where(T_REVISION.c.mention_id == bindparam("rv_mention")).order_by(T_REVISION.c.id.desc()))
