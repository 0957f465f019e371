"""Connector state: the stored cursor, the polling lease, health."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.source_health import PollOutcome, verdict
from inbox.storage.db_clock import db_now
from inbox.storage.repo._common import T_CONN, dialect_insert

__all__ = ["ensure", "try_lease", "release_lease", "get_state", "all_states", "save_success", "save_failure",
           "record_poll", "unhealthy"]


async def ensure(name: str, type_: str, *, conn: AsyncConnection, now: datetime) -> None:
    stmt = dialect_insert(conn, T_CONN).values(name=name, type=type_, cursor=None, consecutive_failures=0,
                                               mentions_fetched=0, healthy=True, updated_at=now)
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))


async def try_lease(name: str, owner: str, *, conn: AsyncConnection, now: datetime, lease_for: timedelta,
                    due_only: bool = False) -> bool:
    """Take the polling lease for ``lease_for`` if it is free, expired or already ours (and, with
    ``due_only``, if the connector's next poll is due at ``now``, so that two instances never poll
    one source twice in one interval). The lease's expiry is set and judged on the database's
    clock (:mod:`inbox.storage.db_clock`), so an instance whose clock is off neither takes a live
    lease nor waits on an expired one. One conditional UPDATE: on PostgreSQL the row lock makes
    concurrent takers serialise, and only one of them still sees its WHERE hold."""
    cond = [T_CONN.c.name == name,
            or_(T_CONN.c.lease_owner.is_(None), T_CONN.c.lease_expires_at < db_now(), T_CONN.c.lease_owner == owner)]
    if due_only:
        cond.append(or_(T_CONN.c.next_poll_at.is_(None), T_CONN.c.next_poll_at <= now))
    res = await conn.execute(
        update(T_CONN).where(*cond)
        .values(lease_owner=owner, lease_expires_at=db_now(lease_for), last_poll_started_at=now, updated_at=now))
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


def save_success(c: Connection, name: str, owner: str, cursor: dict[str, Any], fetched: int, *, now: datetime,
                 lease_for: timedelta | None = None) -> bool:
    """Store the new cursor after a successfully stored batch, only while we hold the lease
    (a poller whose lease was taken over must not overwrite the new owner's cursor), and extend
    the lease by ``lease_for`` from the database's now: a long poll keeps its lease as long as
    its batches arrive.
    Whether the source is healthy is decided once the whole poll is in (:func:`record_poll`)."""
    values: dict[str, Any] = {"cursor": cursor, "last_success_at": now, "consecutive_failures": 0,
                              "mentions_fetched": T_CONN.c.mentions_fetched + fetched, "updated_at": now}
    if lease_for is not None:
        values["lease_expires_at"] = db_now(lease_for)
    res = c.execute(update(T_CONN).where(T_CONN.c.name == name, T_CONN.c.lease_owner == owner).values(**values))
    return (res.rowcount or 0) == 1


async def save_failure(name: str, error: str, *, conn: AsyncConnection, now: datetime, permanent: bool) -> int:
    """Record a failed poll; returns the source's consecutive failures, this one included."""
    res = await conn.execute(
        update(T_CONN).where(T_CONN.c.name == name)
        .values(last_error=error[:2000], last_error_at=now, updated_at=now,
                consecutive_failures=T_CONN.c.consecutive_failures + 1,
                healthy=False if permanent else T_CONN.c.healthy)
        .returning(T_CONN.c.consecutive_failures))
    return int(res.scalar_one_or_none() or 0)


async def record_poll(name: str, outcome: PollOutcome, warnings: list[dict[str, str]], *, conn: AsyncConnection,
                      now: datetime) -> str | None:
    """After a poll that did not fail: the source's health from what it read
    (:mod:`inbox.domain.source_health`), its warnings and the poll's counts; ``last_poll`` keeps
    ``unhealthy_since`` while the source stays unhealthy. Returns the reason it is unhealthy
    (None: healthy)."""
    row = (await conn.execute(select(T_CONN.c.health_reason, T_CONN.c.last_poll).where(T_CONN.c.name == name))).first()
    previous, last = (row[0], row[1] or {}) if row else (None, {})
    reason = verdict(outcome, previous)
    since = (last.get("unhealthy_since") if previous is not None else None) or now.isoformat()
    values: dict[str, Any] = {
        "health_reason": reason, "healthy": reason is None, "updated_at": now,
        "last_poll": {"at": now.isoformat(), "read": outcome.read, "rejected": outcome.rejected,
                      "warnings": len(outcome.warnings), **({"unhealthy_since": since} if reason else {})},
    }
    if not outcome.quiet:
        values.update(warnings=warnings[:20] or None, warnings_at=now if warnings else None)
    if reason is not None and reason != previous:
        values.update(last_error=reason[:2000], last_error_at=now)
    await conn.execute(update(T_CONN).where(T_CONN.c.name == name).values(**values))
    return reason


async def unhealthy(*, conn: AsyncConnection) -> list[dict[str, Any]]:
    """Sources whose polls succeed but read nothing usable (``health_reason`` set)."""
    rows = await conn.execute(select(T_CONN).where(T_CONN.c.health_reason.is_not(None)).order_by(T_CONN.c.name))
    return [dict(r._mapping) for r in rows]
