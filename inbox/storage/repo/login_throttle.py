"""Login throttling counters (the login_throttle table): one row per key, its failures in the
current window and until when it is refused.

:func:`admit` runs before the password is checked, in the caller's transaction: for each key (in
a fixed order, so two transactions never wait on each other in a cycle) one conditional UPDATE
counts the attempt as a failure unless the key is refused right now, and, when that count
reaches the key's limit, holds the key for ``hold`` (so attempts racing the one being checked are
refused too). The row lock of that UPDATE serialises concurrent attempts on PostgreSQL; SQLite
has one writer. :func:`settle` records the outcome: a success takes the attempt back (and clears
the user's keys), a failure at or past the limit refuses the key for a growing delay.
:func:`remember` and :func:`seen_since` keep a ``known:`` row per user and address a sign-in
succeeded from (``window_start``: the last such sign-in); it never counts failures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_THROTTLE, dialect_insert

__all__ = ["Bucket", "Refused", "admit", "settle", "state", "remember", "seen_since"]


@dataclass(frozen=True)
class Bucket:
    """A key, its limit of failures per window, and the longest delay it may impose."""

    key: str
    limit: int
    max_delay: timedelta
    clear_on_success: bool = True


@dataclass(frozen=True)
class Refused:
    key: str
    until: datetime


async def admit(buckets: list[Bucket], *, conn: AsyncConnection, now: datetime, window: timedelta,
                hold: timedelta) -> Refused | None:
    """Count this attempt in every bucket, or return the first bucket refusing it (the caller then
    rolls back, so a refused attempt counts nowhere)."""
    cutoff = now - window
    ordered = sorted(buckets, key=lambda b: b.key)
    await conn.execute(dialect_insert(conn, T_THROTTLE).values(
        [{"key": b.key, "failures": 0, "window_start": now, "blocked_until": None} for b in ordered]
    ).on_conflict_do_nothing(index_elements=["key"]))
    for b in ordered:
        expired = T_THROTTLE.c.window_start < cutoff
        counted = case((expired, 1), else_=T_THROTTLE.c.failures + 1)
        res = await conn.execute(
            update(T_THROTTLE)
            .where(T_THROTTLE.c.key == b.key,
                   or_(T_THROTTLE.c.blocked_until.is_(None), T_THROTTLE.c.blocked_until <= now))
            .values(failures=counted,
                    window_start=case((expired, now), else_=T_THROTTLE.c.window_start),
                    blocked_until=case((counted >= b.limit, now + hold), else_=None))
            .returning(T_THROTTLE.c.failures))
        if res.first() is None:
            until = (await conn.execute(select(T_THROTTLE.c.blocked_until)
                                        .where(T_THROTTLE.c.key == b.key))).scalar_one()
            return Refused(b.key, until)
    return None


def delay(failures: int, limit: int, max_delay: timedelta, base: timedelta = timedelta(seconds=30)) -> timedelta:
    """How long a key is refused after its ``failures``-th failure: nothing below the limit, then
    30 s, 1 min, 2 min ... doubling up to ``max_delay``."""
    if failures < limit:
        return timedelta(0)
    grown: timedelta = base * 2 ** min(failures - limit, 20)
    return min(max_delay, grown)


async def settle(buckets: list[Bucket], ok: bool, *, conn: AsyncConnection,
                 now: datetime) -> list[tuple[Bucket, int, timedelta]]:
    """Record the outcome of an admitted attempt; returns (bucket, failures, delay) of each bucket
    this failure refuses for a while (for the audit trail)."""
    started: list[tuple[Bucket, int, timedelta]] = []
    for b in sorted(buckets, key=lambda b: b.key):
        if ok:
            back = T_THROTTLE.c.failures - 1
            await conn.execute(update(T_THROTTLE).where(T_THROTTLE.c.key == b.key).values(
                failures=0 if b.clear_on_success else case((back > 0, back), else_=0),
                blocked_until=None if b.clear_on_success else
                case((and_(back < b.limit, T_THROTTLE.c.blocked_until.is_not(None)), None),
                     else_=T_THROTTLE.c.blocked_until)))
            continue
        failures = (await conn.execute(select(T_THROTTLE.c.failures)
                                       .where(T_THROTTLE.c.key == b.key))).scalar_one_or_none() or 0
        wait = delay(failures, b.limit, b.max_delay)
        await conn.execute(update(T_THROTTLE).where(T_THROTTLE.c.key == b.key).values(
            blocked_until=now + wait if wait else None))
        if wait:
            started.append((b, failures, wait))
    return started


async def state(key: str, *, conn: AsyncConnection) -> tuple[int, datetime | None] | None:
    """(failures, blocked_until) of ``key``, or None."""
    row = (await conn.execute(select(T_THROTTLE.c.failures, T_THROTTLE.c.blocked_until)
                              .where(T_THROTTLE.c.key == key))).first()
    return (int(row[0]), row[1]) if row else None


async def remember(key: str, *, conn: AsyncConnection, now: datetime) -> None:
    """Note that ``key`` (a ``known:`` key) was seen ``now``."""
    stmt = dialect_insert(conn, T_THROTTLE).values(key=key, failures=0, window_start=now, blocked_until=None)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"window_start": now}))


async def seen_since(key: str, *, conn: AsyncConnection, since: datetime) -> bool:
    """Whether ``key`` was last seen (:func:`remember`) at or after ``since``."""
    seen = (await conn.execute(select(T_THROTTLE.c.window_start).where(T_THROTTLE.c.key == key))).scalar()
    return seen is not None and seen >= since
