"""The briefs' recipients (digest_recipient) and the briefs sent (digest_run).

A run is unique per (audience, period_end): :func:`claim_run` inserts it (ON CONFLICT DO NOTHING)
or takes over one that failed or whose sender died (lease expired), so one instance sends each
brief, once, however many instances look for due ones."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.db_clock import db_now
from inbox.storage.repo._common import T_DIGEST_RUN, T_DIGEST_TO, dialect_insert

__all__ = ["recipients", "add_recipient", "remove_recipient", "claim_run", "finish_run", "runs", "get_run",
           "MAX_ATTEMPTS"]

MAX_ATTEMPTS = 5
_RUN_LIST = [c for c in T_DIGEST_RUN.c if c.name != "brief"]


async def recipients(*, conn: AsyncConnection, audience: str | None = None) -> list[dict[str, Any]]:
    q = select(T_DIGEST_TO).order_by(T_DIGEST_TO.c.audience, T_DIGEST_TO.c.email)
    if audience is not None:
        q = q.where(T_DIGEST_TO.c.audience == audience)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def add_recipient(audience: str, email: str, lang: str, *, conn: AsyncConnection, now: datetime) -> bool:
    """False when the address already receives that audience's brief (its language is updated)."""
    stmt = dialect_insert(conn, T_DIGEST_TO).values(audience=audience, email=email, lang=lang, created_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["audience", "email"], set_={"lang": lang})
    before = await conn.execute(select(T_DIGEST_TO.c.id).where(T_DIGEST_TO.c.audience == audience,
                                                               T_DIGEST_TO.c.email == email))
    existed = before.first() is not None
    await conn.execute(stmt)
    return not existed


async def remove_recipient(recipient_id: int, *, conn: AsyncConnection) -> bool:
    return bool((await conn.execute(delete(T_DIGEST_TO).where(T_DIGEST_TO.c.id == recipient_id))).rowcount)


async def claim_run(audience: str, start: datetime, end: datetime, *, conn: AsyncConnection, now: datetime,
                    lease_for: timedelta) -> dict[str, Any] | None:
    """The run of (audience, end) for this caller to send, or None when it is sent, being sent by
    someone else (its lease, taken for ``lease_for`` and judged on the database's clock, has not
    run out), or has failed ``MAX_ATTEMPTS`` times."""
    ins = (dialect_insert(conn, T_DIGEST_RUN)
           .values(audience=audience, period_start=start, period_end=end, status="sending", deliveries=[],
                   attempts=1, lease_expires_at=db_now(lease_for), created_at=now)
           .on_conflict_do_nothing(index_elements=["audience", "period_end"]).returning(*T_DIGEST_RUN.c))
    row = (await conn.execute(ins)).first()
    if row is None:
        retake = (update(T_DIGEST_RUN)
                  .where(T_DIGEST_RUN.c.audience == audience, T_DIGEST_RUN.c.period_end == end,
                         T_DIGEST_RUN.c.attempts < MAX_ATTEMPTS,
                         or_(T_DIGEST_RUN.c.status == "failed",
                             (T_DIGEST_RUN.c.status == "sending") & (T_DIGEST_RUN.c.lease_expires_at < db_now())))
                  .values(status="sending", attempts=T_DIGEST_RUN.c.attempts + 1, lease_expires_at=db_now(lease_for))
                  .returning(*T_DIGEST_RUN.c))
        row = (await conn.execute(retake)).first()
    return dict(row._mapping) if row else None


async def finish_run(run_id: int, *, conn: AsyncConnection, status: str, brief: dict[str, Any],
                     deliveries: list[dict[str, Any]], sent_at: datetime | None) -> None:
    await conn.execute(update(T_DIGEST_RUN).where(T_DIGEST_RUN.c.id == run_id).values(
        status=status, brief=brief, deliveries=deliveries, sent_at=sent_at, lease_expires_at=None))


async def runs(*, conn: AsyncConnection, audiences: list[str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest runs, newest first, without their briefs."""
    q = select(*_RUN_LIST).order_by(T_DIGEST_RUN.c.created_at.desc(), T_DIGEST_RUN.c.id.desc()).limit(limit)
    if audiences is not None:
        q = q.where(T_DIGEST_RUN.c.audience.in_(audiences))
    return [dict(r._mapping) for r in await conn.execute(q)]


async def get_run(run_id: int, *, conn: AsyncConnection) -> dict[str, Any] | None:
    r = (await conn.execute(select(T_DIGEST_RUN).where(T_DIGEST_RUN.c.id == run_id))).first()
    return dict(r._mapping) if r else None
