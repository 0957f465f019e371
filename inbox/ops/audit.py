"""One audit trail: every change to items, users, roles, tokens, configuration and models is an
``event`` row (item events carry their item; the others have none). Written by the code that makes
the change, in its transaction (:func:`record`); read here with filters for the admin page, the
API and `social-inbox audit`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbox.errors import Invalid
from inbox.storage.engine import reader
from inbox.storage.repo import audit_reads, items

__all__ = ["AuditFilter", "audit_events", "record"]


def _when(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    if value is None or not value.strip():
        return None
    v = value.strip()
    try:
        d = datetime.fromisoformat(v)
    except ValueError:
        raise Invalid(f"{name}: {value!r} is not an ISO date or date-time") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    if end and len(v) == 10:  # a date: until the end of that day
        d += timedelta(days=1)
    return d


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    kind: str | None = None
    item: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100

    @classmethod
    def parse(cls, *, actor: str | None = None, kind: str | None = None, item: int | None = None,
              since: str | None = None, until: str | None = None, limit: int = 100) -> AuditFilter:
        if not 1 <= limit <= 1000:
            raise Invalid("limit: between 1 and 1000")
        return cls(actor or None, kind or None, item, _when(since, "since"), _when(until, "until", end=True), limit)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "created_at": row["created_at"].isoformat() if row["created_at"] else None,
            "actor": row["actor"], "kind": row["kind"], "item_id": row["item_id"], "team": row["team"],
            "data": row["data"] or {}}


async def audit_events(engine: AsyncEngine, flt: AuditFilter) -> list[dict[str, Any]]:
    async with reader(engine).connect() as conn:
        rows = await audit_reads.audit_rows(conn=conn, actor=flt.actor, kind=flt.kind, item_id=flt.item,
                                            since=flt.since, until=flt.until, limit=flt.limit)
    return [_public(r) for r in rows]


async def record(kind: str, actor: str, data: dict[str, Any], *, conn: AsyncConnection, now: datetime,
                 item_id: int | None = None, team: str | None = None) -> None:
    """One audit event in the caller's transaction."""
    await items.insert_events([{"item_id": item_id, "kind": kind[:32], "actor": actor[:64], "team": team,
                                "data": data, "created_at": now}], conn=conn)
