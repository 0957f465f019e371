"""The database's clock as an SQL expression: ``db_now()`` is the database server's current UTC
time, ``db_now(after)`` that time plus a duration.

Leases between instances (a connector's polling lease; the notification outbox's, the reply
outbox's and a digest run's sending lease) are taken, renewed and judged expired on this clock,
never on the process clock: instances whose clocks disagree by minutes then still
agree on whose lease is live, because they all ask the one database. Everything else that reads
time (SLA, schedules, next poll times) takes the service's injected :class:`~inbox.domain.clock.Clock`,
so fake-clock tests drive it; a lease is the one thing a fake clock must not move, since what it
guards is real elapsed time between real processes.

An agent's claim on an item (``queue_item.lease_expires_at``, ``[server] claim_lease``) is work
time, not an instance's lease: it runs out like the item's SLA due times, on the service's clock,
and the tests of claims, handovers and the SLA sweep move it with the same fake clock. Instances
whose clocks disagree by more than seconds would disagree on those due times anyway; run NTP.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from inbox.storage.column_types import UTCDateTime

__all__ = ["db_now"]


class db_now(FunctionElement[datetime]):  # noqa: N801 -- an SQL function, named like one
    """The database's current UTC time plus ``after`` (a bound parameter: one cached statement
    whatever the duration)."""

    type = UTCDateTime()
    name = "db_now"
    inherit_cache = True

    def __init__(self, after: timedelta = timedelta(0)) -> None:
        super().__init__(literal(after.total_seconds(), Float()))


@compiles(db_now, "postgresql")
def _db_now_postgresql(element: db_now, compiler: SQLCompiler, **kw: Any) -> str:
    # the transaction's start time: one instant for every statement of a transaction
    return f"(CURRENT_TIMESTAMP + make_interval(secs => {compiler.process(element.clauses, **kw)}))"


@compiles(db_now, "sqlite")
def _db_now_sqlite(element: db_now, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text and compares them as
    # text: the same layout (strftime's %f gives milliseconds; three zeros make microseconds)
    seconds = compiler.process(element.clauses, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%+.6f seconds', {seconds})) || '000')"
