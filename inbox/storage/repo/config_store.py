"""Versions of the configuration sections edited in the app (``config_revision``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_CONFIG

__all__ = ["current", "add_revision", "revision", "history"]


async def current(*, conn: AsyncConnection) -> dict[str, tuple[int, list[dict[str, Any]]]]:
    """The version in force of each edited section: section -> (version, document)."""
    last = select(T_CONFIG.c.section, func.max(T_CONFIG.c.id).label("id")).group_by(T_CONFIG.c.section).subquery()
    rows = await conn.execute(select(T_CONFIG.c.id, T_CONFIG.c.section, T_CONFIG.c.document)
                              .join(last, last.c.id == T_CONFIG.c.id))
    return {r.section: (int(r.id), list(r.document or [])) for r in rows}


async def add_revision(section: str, document: list[dict[str, Any]], *, actor: str, conn: AsyncConnection,
                       now: datetime) -> int:
    row = (await conn.execute(insert(T_CONFIG).values(section=section, document=document, actor=actor[:64],
                                                      created_at=now).returning(T_CONFIG.c.id))).one()
    return int(row.id)


async def revision(version: int, *, conn: AsyncConnection) -> dict[str, Any] | None:
    r = (await conn.execute(select(T_CONFIG).where(T_CONFIG.c.id == version))).first()
    return dict(r._mapping) if r else None


async def history(section: str, *, conn: AsyncConnection, limit: int = 50) -> list[dict[str, Any]]:
    rows = await conn.execute(select(T_CONFIG.c.id, T_CONFIG.c.section, T_CONFIG.c.actor, T_CONFIG.c.created_at)
                              .where(T_CONFIG.c.section == section).order_by(T_CONFIG.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]
