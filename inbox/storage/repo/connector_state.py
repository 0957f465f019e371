"""Connector state: the stored cursor, the polling lease, health."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_CONN, dialect_insert

__all__ = ["ensure", "try_lease", "release_lease", "get_state", "all_states", "save_success", "save_failure"]


async def ensure(name: str, type_: str, *, conn: AsyncConnection, now: datetime) -> None:
    stmt = dialect_insert(conn, T_CONN).values(name=name, type=type_, cursor=None, consecutive_failures=0,
                                               mentions_fetched=0, healthy=True, updated_at=now)
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))


async def try_lease(name: str, owner: str, *, conn: AsyncConnection, now: datetime, until: datetime,
                    due_only: bool = False) -> bool:
    """Take the polling lease if it is free, expired or already ours (and, with ``due_only``, if
    the connector's next poll is due, so that two instances never poll one source twice in one
    interval). One conditional UPDATE: on PostgreSQL the row lock makes concurrent takers
    serialise, and only one of them still sees its WHERE hold."""
    cond = [T_CONN.c.name == name,
            or_(T_CONN.c.lease_owner.is_(None), T_CONN.c.lease_expires_at < now, T_CONN.c.lease_owner == owner)]
    if due_only:
        cond.append(or_(T_CONN.c.next_poll_at.is_(None), T_CONN.c.next_poll_at <= now))
    res = await conn.execute(
        update(T_CONN).where(*cond)
        .values(lease_owner=owner, lease_expires_at=until, last_poll_started_at=now, updated_at=now))
    return (res.rowcount or 0) == 1


async def release_lease(name: str, owner: str, *, conn: AsyncConnection, next_poll_at: datetime | None = None) -> None:
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
    if next_poll_at is not None:
        values["next_poll_at"] = next_poll_at
    await conn.execute(update(T_CONN).where(T_CONN.c.name == name, T_CONN.c.lease_owner == owner).values(**values))


async def get_state(name: str, *, conn: AsyncConnection) -> dict[str, Any] | None:
    row = (await conn.execute(select(T_CONN).where(T_CONN.c.name == name))).first()
    return dict(row._mapping) if row else None


async def all_states(*, conn: AsyncConnection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in await conn.execute(select(T_CONN).order_by(T_CONN.c.name))]


async def save_success(name: str, owner: str, cursor: dict[str, Any], fetched: int, *, conn: AsyncConnection,
                       now: datetime) -> bool:
    """Store the new cursor and health after a successful poll, only while we hold the lease
    (a poller whose lease was taken over must not overwrite the new owner's cursor)."""
    res = await conn.execute(
        update(T_CONN).where(T_CONN.c.name == name, T_CONN.c.lease_owner == owner)
        .values(cursor=cursor, last_success_at=now, consecutive_failures=0, healthy=True,
                mentions_fetched=T_CONN.c.mentions_fetched + fetched, updated_at=now))
    return (res.rowcount or 0) == 1


async def save_failure(name: str, error: str, *, conn: AsyncConnection, now: datetime, permanent: bool) -> None:
    await conn.execute(
        update(T_CONN).where(T_CONN.c.name == name)
        .values(last_error=error[:2000], last_error_at=now, updated_at=now,
                consecutive_failures=T_CONN.c.consecutive_failures + 1,
                healthy=False if permanent else T_CONN.c.healthy))
