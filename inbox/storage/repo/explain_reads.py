"""Reads for `route explain`."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_ITEM, T_USER

__all__ = ["item_row"]


async def item_row(item_id: int, *, conn: AsyncConnection) -> dict[str, Any] | None:
    """The raw queue item with the assignee's name (no visibility filter: an operator command)."""
    q = (select(T_ITEM, T_USER.c.name.label("assignee_name"))
         .select_from(T_ITEM.outerjoin(T_USER, T_USER.c.id == T_ITEM.c.assignee_id))
         .where(T_ITEM.c.id == item_id))
    r = (await conn.execute(q)).first()
    return dict(r._mapping) if r else None
