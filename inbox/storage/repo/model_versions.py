"""The model registry's database side: versions, their metadata, which one is active."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_MODEL, dialect_insert

__all__ = ["register", "list_versions", "active_version", "get_version", "promote"]


async def register(version: str, path: str, meta: dict[str, Any], *, conn: AsyncConnection, now: datetime) -> None:
    stmt = dialect_insert(conn, T_MODEL).values(version=version, path=path, meta=meta, active=False, created_at=now)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["version"], set_={"path": path, "meta": meta}))


async def list_versions(*, conn: AsyncConnection) -> list[dict[str, Any]]:
    q = select(T_MODEL).order_by(T_MODEL.c.created_at.desc(), T_MODEL.c.version)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def get_version(version: str, *, conn: AsyncConnection) -> dict[str, Any] | None:
    row = (await conn.execute(select(T_MODEL).where(T_MODEL.c.version == version))).first()
    return dict(row._mapping) if row else None


async def active_version(*, conn: AsyncConnection) -> dict[str, Any] | None:
    row = (await conn.execute(select(T_MODEL).where(T_MODEL.c.active.is_(True)))).first()
    return dict(row._mapping) if row else None


async def promote(version: str, *, conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(update(T_MODEL).where(T_MODEL.c.active.is_(True)).values(active=False))
    await conn.execute(update(T_MODEL).where(T_MODEL.c.version == version).values(active=True, promoted_at=now))
