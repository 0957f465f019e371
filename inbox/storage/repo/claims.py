"""The claim/work hot path: short transactions in as few round trips as the semantics allow.

On PostgreSQL each step is one statement, a data-modifying CTE:
- claim: lock the agent's row and count their open claims (the function inbox_lock_open_claims,
  migration 0006), pick the next item FOR UPDATE SKIP LOCKED (only while the count is under
  capacity), mark it claimed, insert the "claimed" audit event, NOTIFY, and return the count with
  the claimed item's summary;
- change: UPDATE the item, insert its audit event, NOTIFY, return the new summary.
A claim is that one statement, committed on its own: one round trip instead of four (BEGIN, lock,
claim, COMMIT). Under READ COMMITTED a statement sees the database as of its start, so a count
taken in the statement itself would miss a claim that a concurrent session of the same agent
committed while this one waited for the lock; the function counts in a query of its own, which
takes a new snapshot after the lock is granted.
A change is either BEGIN, lock the item's row, change, COMMIT; or, without a transaction, read the
row with its version (xmin) and write the change only if the row is still that version (WorkService
decides on the row it read, exactly as it would under the lock, and takes the locked path when the
row changed in between). A claim returns the row it wrote with its version, so the claimer's next
change needs no read.
SQLite has no data-modifying CTEs: the same steps run as separate statements under the single
writer lock (BEGIN IMMEDIATE), as synchronous functions (``claim_next_sync``, ``apply_change_sync``)
that WorkService runs in a write unit (inbox.storage.write_units): one hand-off to the writer thread
for the whole transaction. The locked change is that same function on PostgreSQL, run on the async
engine. NOTIFY is PostgreSQL only, as in repo.pubsub. Every statement goes through SQLAlchemy's
``Connection.execute`` (or ``AsyncConnection.execute``)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, Text, and_, bindparam, func, insert, literal, literal_column, select, true, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbox.domain.types import ItemSummary
from inbox.storage.repo import items
from inbox.storage.repo._common import T_EVENT, T_ITEM, is_pg
from inbox.storage.repo.items import SUMMARY_ITEM_COLUMNS, SUMMARY_RETURNING, _to_summary, summary_columns
from inbox.storage.repo.pubsub import notify_one_sql
from inbox.storage.tables import ItemStatus

__all__ = ["Claim", "WorkTx", "connection", "unlocked_changes", "claim_next", "claim_next_sync",
           "apply_change_sync", "read_item", "apply_change_if_unchanged"]


# a PostgreSQL connection outside a transaction, whose statements each commit on their own
# (``connection``); SQLite's claims and changes run in write units (inbox.storage.write_units)
WorkTx = AsyncConnection


def unlocked_changes(engine: AsyncEngine) -> bool:
    """Whether connection() and the unlocked read-then-write steps are available (PostgreSQL)."""
    return engine.dialect.name == "postgresql"


@asynccontextmanager
async def connection(engine: AsyncEngine) -> AsyncIterator[WorkTx]:
    """A PostgreSQL connection from the engine's pool, outside a transaction: each statement
    commits on its own. The isolation level is set on this connection (SQLAlchemy restores it
    when the connection returns to the pool) rather than taken from an ``autocommit(engine)``
    variant: such a variant sets it through an engine_connect listener, and a connection of an
    engine with listeners dispatches every connection event (begin, execute, rollback) to them,
    about a tenth of a claim's client CPU (bench/claims.py)."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


async def _rows(tx: WorkTx, stmt: Any, params: dict[str, Any]) -> list[Any]:
    return list((await tx.execute(stmt, params)).mappings())


class Claim(NamedTuple):
    """What a claim attempt found: the agent's open claims before it, and the item it claimed
    (None when the queue had nothing claimable or the agent was at capacity); on PostgreSQL also
    the claimed item's row as the claim wrote it, with its version under "_version" (as read_item
    returns it), for a following apply_change_if_unchanged without a read."""

    held: int
    item: ItemSummary | None
    row: dict[str, Any] | None = None


# what the claim and change statements return of the row they wrote: only what its summary shows
_RETURNING = tuple(T_ITEM.c[n] for n in SUMMARY_RETURNING)

# the row version: the id of the transaction that wrote it. A row whose xmin is unchanged has not
# been written since it was read (a write makes a new version, with the writer's id).
_VERSION = literal_column("queue_item.xmin::text", Text)
# the item columns the summary does not show: a claim returns them too (Claim.row)
_REST = tuple(c for c in T_ITEM.c if c.name not in SUMMARY_RETURNING)


def _notify(item_id: Any) -> Any:
    return notify_one_sql(item_id).label("notified")


@lru_cache(maxsize=2)
def _claim_pg(expired: bool) -> Any:
    # the agent's row lock, then their open claims (claimed, lease not yet expired) counted with a
    # snapshot taken after the lock was granted (migration 0006; ix_queue_item_assignee)
    held = select(func.inbox_lock_open_claims(bindparam("c_user_id"),
                                              bindparam("c_now", type_=T_ITEM.c.updated_at.type))
                  .label("held")).cte("held")
    order = (T_ITEM.c.priority.desc(), T_ITEM.c.first_response_due.asc().nulls_last(), T_ITEM.c.id.asc())
    cond = (and_(T_ITEM.c.status == ItemStatus.CLAIMED, T_ITEM.c.lease_expires_at < bindparam("c_now"))
            if expired else T_ITEM.c.status == ItemStatus.NEW)
    # SKIP LOCKED: concurrent claimers each lock a different row instead of queueing on the same
    # one, so N agents get N distinct items without retries. The capacity test is a one-time
    # filter: at capacity the walk down ix_queue_item_claim does not even start. LIMIT 1 is in the
    # text, not a parameter: a parameter makes PostgreSQL cost the generic plan as if a tenth of
    # the team's items were read, so it would plan the statement anew on every claim.
    candidate = (select(T_ITEM.c.id)
                 .where(T_ITEM.c.team == bindparam("c_team"), cond, items.not_a_copy(),
                        select(held.c.held).scalar_subquery() < bindparam("c_capacity"))
                 .order_by(*order).limit(items.constant(1, Integer)).with_for_update(skip_locked=True))
    claimed = (update(T_ITEM).where(T_ITEM.c.id == candidate.scalar_subquery())
               .values(status=ItemStatus.CLAIMED, assignee_id=bindparam("c_user_id"), lease_owner=bindparam("c_owner"),
                       lease_expires_at=bindparam("c_lease_until"), updated_at=bindparam("c_now"), assigned_at=None,
                       first_touched_at=func.coalesce(T_ITEM.c.first_touched_at, bindparam("c_now")))
               .returning(*_RETURNING, *_REST, _VERSION.label("_version")).cte("claimed"))
    event = insert(T_EVENT).from_select(
        ["item_id", "kind", "actor", "team", "data", "created_at"],
        select(claimed.c.id, literal("claimed"), bindparam("c_actor", type_=T_EVENT.c.actor.type), claimed.c.team,
               bindparam("c_data", type_=T_EVENT.c.data.type), bindparam("c_now", type_=T_EVENT.c.created_at.type)),
    ).cte("claim_event")
    cols, from_ = summary_columns(claimed)
    rest = [claimed.c[c.name] for c in T_ITEM.c if c.name not in SUMMARY_ITEM_COLUMNS]
    return (select(held.c.held, *cols, *rest, claimed.c["_version"], _notify(claimed.c.id))
            .select_from(held.outerjoin(from_, true())).add_cte(event))


_ROW_KEYS = (*(c.name for c in T_ITEM.c), "_version")


def _claim_params(team: str, user_id: int, actor: str, capacity: int, owner: str, now: datetime,
                  lease_until: datetime) -> dict[str, Any]:
    return {"c_team": team, "c_now": now, "c_user_id": user_id, "c_owner": owner, "c_lease_until": lease_until,
            "c_capacity": capacity, "c_actor": actor, "c_data": {}}


async def claim_next(team: str, *, tx: WorkTx, user_id: int, actor: str, capacity: int, owner: str,
                     now: datetime, lease_until: datetime) -> Claim:
    """Claim the next item of ``team`` for ``user_id`` unless they already hold ``capacity`` open
    claims: the highest priority, earliest due new item, else the best item whose claim lease
    expired. Writes the "claimed" event and NOTIFYs (PostgreSQL) in the same transaction. ``tx``
    comes from connection() on PostgreSQL, where each attempt (new items, then expired leases) is one
    statement that locks the agent's row, so that two sessions of one agent never both pass the
    capacity test, and commits; on SQLite it is a write transaction (:func:`claim_next_sync`)."""
    params = _claim_params(team, user_id, actor, capacity, owner, now, lease_until)
    if not is_pg(tx):
        return await tx.run_sync(_claim_sqlite, team, params)
    held = 0
    for expired in (False, True):
        row = (await _rows(tx, _claim_pg(expired), params))[0]
        held = int(row["held"])
        if row["id"] is not None:
            return Claim(held, _to_summary(row), {k: row[k] for k in _ROW_KEYS})
        if held >= capacity:
            break
    return Claim(held, None)


def claim_next_sync(c: Connection, team: str, *, user_id: int, actor: str, capacity: int, owner: str,
                    now: datetime, lease_until: datetime) -> Claim:
    """:func:`claim_next` on SQLite, in a write transaction on a synchronous connection (a write unit,
    inbox.storage.write_units): the agent's open claims counted, the claim, its event, the item."""
    return _claim_sqlite(c, team, _claim_params(team, user_id, actor, capacity, owner, now, lease_until))


def _claim_sqlite(c: Connection, team: str, params: dict[str, Any]) -> Claim:
    held = items.open_claims_sync(c, params["c_user_id"], params["c_now"])
    if held >= params["c_capacity"]:
        return Claim(held, None)
    item_id = items.claim_next_sync(c, team, user_id=params["c_user_id"], owner=params["c_owner"],
                                    now=params["c_now"], lease_until=params["c_lease_until"])
    if item_id is None:
        return Claim(held, None)
    items.insert_events_sync(c, [{"item_id": item_id, "kind": "claimed", "actor": params["c_actor"], "team": team,
                                  "data": params["c_data"], "created_at": params["c_now"]}])
    return Claim(held, items.get_item_sync(c, item_id))


_EVENT_COLS = ("kind", "actor", "team", "data", "created_at")


@lru_cache(maxsize=128)
def _change_pg(keys: tuple[str, ...], versioned: bool) -> Any:
    """UPDATE these columns of the item (none: a note), insert its event, NOTIFY, return the summary;
    ``versioned``: only if the row is still the version read (xmin), else no row, no event."""
    event_values = [bindparam("e_" + c, type_=T_EVENT.c[c].type) for c in _EVENT_COLS]
    if not keys:
        event = insert(T_EVENT).values(dict(zip(("item_id", *_EVENT_COLS), [bindparam("_item_id"), *event_values],
                                                 strict=True))).cte("change_event")
        cols, from_ = summary_columns(T_ITEM)
        return (select(*cols, _notify(T_ITEM.c.id)).select_from(from_).add_cte(event)
                .where(T_ITEM.c.id == bindparam("_item_id")))
    cond = [T_ITEM.c.id == bindparam("_item_id")]
    if versioned:
        cond.append(_VERSION == bindparam("_version"))
    changed = (update(T_ITEM).where(*cond).values({k: bindparam("v_" + k) for k in keys})
               .returning(*_RETURNING).cte("changed"))
    # the event comes from the changed row: no change, no event
    event = insert(T_EVENT).from_select(["item_id", *_EVENT_COLS],
                                        select(changed.c.id, *event_values)).cte("change_event")
    cols, from_ = summary_columns(changed)
    return select(*cols, _notify(changed.c.id)).select_from(from_).add_cte(event)


def _change_params(item_id: int, values: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    return {
        "_item_id": item_id,
        **{"v_" + k: v for k, v in values.items()},
        **{"e_" + c: event[c] for c in _EVENT_COLS},
    }


def apply_change_sync(c: Connection, item_id: int, values: dict[str, Any], event: dict[str, Any]) -> ItemSummary:
    """Write ``values`` to the item (locked by ``items.lock_item_sync`` in this transaction), insert
    the audit ``event`` (kind, actor, team, data, created_at), NOTIFY (PostgreSQL) and return the
    item's new state, whoever may see it."""
    if not is_pg(c):
        if values:
            items.update_item_sync(c, item_id, values)
        items.insert_events_sync(c, [{"item_id": item_id, **event}])
        item = items.get_item_sync(c, item_id)
    else:
        rows = c.execute(_change_pg(tuple(sorted(values)), False), _change_params(item_id, values, event)).mappings()
        found = rows.first()
        item = _to_summary(found) if found else None
    if item is None:  # locked in this transaction: it cannot have gone
        raise LookupError(f"item {item_id} vanished under its row lock")
    return item


_READ_ITEM = select(T_ITEM, _VERSION.label("_version")).where(T_ITEM.c.id == bindparam("item_id"))


async def read_item(item_id: int, *, tx: WorkTx) -> dict[str, Any] | None:
    """The item's row without a lock, with its version under "_version" (PostgreSQL, outside a
    transaction), for apply_change_if_unchanged."""
    rows = await _rows(tx, _READ_ITEM, {"item_id": item_id})
    return dict(rows[0]) if rows else None


async def apply_change_if_unchanged(item_id: int, version: str, values: dict[str, Any], event: dict[str, Any], *,
                                    tx: WorkTx) -> ItemSummary | None:
    """apply_change without a prior lock (PostgreSQL, one statement, its own transaction): only
    if the row is still at ``version``, so that the change is exactly what it would have been under
    the row lock; None (nothing written) when the row changed since it was read. ``values`` must
    not be empty. The UPDATE waits for a concurrent writer of the row and then re-checks the
    version against the row it committed."""
    rows = await _rows(tx, _change_pg(tuple(sorted(values)), True),
                       {**_change_params(item_id, values, event), "_version": version})
    return _to_summary(rows[0]) if rows else None


