"""A user's saved views (the ``saved_view`` table): list, add, delete, always by the owner's id."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage import tables

__all__ = ["list_for", "add", "remove", "count_for", "NameTaken"]

T_SAVED: Table = tables.SavedView.__table__  # type: ignore[attr-defined]
_COLS = (T_SAVED.c.id, T_SAVED.c.name, T_SAVED.c.page, T_SAVED.c.query, T_SAVED.c.created_at)


class NameTaken(Exception):
    """The user already has a saved view of that name."""


async def list_for(user_id: int, *, conn: AsyncConnection) -> list[dict[str, Any]]:
    """The user's saved views by name."""
    q = select(*_COLS).where(T_SAVED.c.user_id == user_id).order_by(T_SAVED.c.name, T_SAVED.c.id)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def count_for(user_id: int, *, conn: AsyncConnection) -> int:
    q = select(func.count()).select_from(T_SAVED).where(T_SAVED.c.user_id == user_id)
    return int((await conn.execute(q)).scalar_one())


async def add(user_id: int, name: str, page: str, query: str, *, conn: AsyncConnection,
              now: datetime) -> dict[str, Any]:
    """Store a view; NameTaken when the user has one of that name (the unique key decides, so two
    requests at once cannot both store it). Runs in a SAVEPOINT so the caller's transaction survives."""
    try:
        async with conn.begin_nested():
            res = await conn.execute(insert(T_SAVED).values(user_id=user_id, name=name, page=page, query=query,
                                                            created_at=now).returning(*_COLS))
            return dict(res.one()._mapping)
    except IntegrityError:
        raise NameTaken(name) from None


async def remove(user_id: int, view_id: int, *, conn: AsyncConnection) -> bool:
    """Delete one of the user's views; False when they have none of that id."""
    res = await conn.execute(delete(T_SAVED).where(T_SAVED.c.id == view_id, T_SAVED.c.user_id == user_id))
    return bool(res.rowcount)
