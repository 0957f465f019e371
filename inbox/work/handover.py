"""Handing an item over: a lead assigns it to a named member of the team (capacity respected
unless overridden with a reason), an agent takes it for themself; a resolved item is reopened.
Each is one transaction with its audit event, then a live update and the assignee's notification."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.types import ItemSummary, UserInfo
from inbox.errors import Conflict, Forbidden, Invalid, NotFound
from inbox.storage.repo import handover, items, pubsub
from inbox.storage.tables import ItemStatus
from inbox.work import people_notify
from inbox.work.item_actions import WorkService

__all__ = ["assign", "reopen", "may_assign_others"]

log = structlog.get_logger(__name__)

_CLOSED = (ItemStatus.RESOLVED, ItemStatus.SPAM)


def may_assign_others(user: UserInfo, team: str) -> bool:
    """Admins, and leads of the item's team, assign items to others."""
    return user.is_admin or (user.role == "lead" and team in user.teams)


def _assign_values(work: WorkService, actor: UserInfo, row: dict[str, Any], target: dict[str, Any], load: int,
                   reason: str | None, override: bool, now: datetime) -> dict[str, Any]:
    """Checks and the item's new values (pure over the locked rows)."""
    own = target["name"] == actor.name
    if not own and not may_assign_others(actor, row["team"]):
        raise Forbidden("only a lead of the team assigns items to someone else")
    if row["team"] not in target["teams"] or target["role"] not in ("agent", "lead"):
        raise Invalid(f"{target['name']} is not an agent of {row['team']!r}")
    if row["status"] in _CLOSED:
        raise Conflict(f"item {row['id']} is {row['status']}: reopen it first")
    held = row["status"] == ItemStatus.CLAIMED and row["assignee_id"] not in (None, actor.id) \
        and (row["lease_expires_at"] is None or row["lease_expires_at"] >= now)
    if own and held and not may_assign_others(actor, row["team"]):
        raise Conflict(f"item {row['id']} is claimed by someone else")
    if override and not reason:
        raise Invalid("an override of the capacity needs a reason")
    if load >= target["capacity"] and row["assignee_id"] != target["id"]:
        if not (override and may_assign_others(actor, row["team"])):
            raise Conflict(f"{target['name']} already holds {load} of {target['capacity']} items (capacity); "
                           "a lead can override with a reason")
    status = ItemStatus.CLAIMED if row["status"] in (ItemStatus.NEW, ItemStatus.CLAIMED) else row["status"]
    return {"status": status, "assignee_id": target["id"], "lease_owner": f"user:{target['id']}",
            # taking an item is a claim with its lease; an item a lead hands over stays the assignee's
            "lease_expires_at": now + work.settings.server.claim_lease if own else None,
            "assigned_at": None, "updated_at": now}


async def _lock_for(work: WorkService, actor: UserInfo, item_id: int, conn: AsyncConnection) -> dict[str, Any]:
    """The item's row, locked for this transaction, once ``actor`` may act on it (else 404/403)."""
    row = await items.lock_item(item_id, conn=conn)
    if row is None:
        raise NotFound(f"no item {item_id}")
    work.check_may_act(actor, row)
    return row


async def assign(work: WorkService, actor: UserInfo, item_id: int, name: str, *, reason: str | None = None,
                 override: bool = False) -> ItemSummary:
    """Give the item to the user called ``name`` (see the module doc); returns its new state."""
    reason = (reason or "").strip() or None
    now = work.clock.now()
    async with work.engine.begin() as conn:
        # the item first: who may not see it learns nothing about the user named. (Claims lock the
        # agent, then skip locked items, so this order cannot deadlock with them.)
        row = await _lock_for(work, actor, item_id, conn)
        target = await handover.lock_target(name, conn=conn)
        if target is None or not target["active"]:
            raise Invalid(f"no active user {name!r}")
        if row["assignee_id"] == target["id"] and row["status"] == ItemStatus.CLAIMED:
            item = await items.get_item(item_id, conn=conn)
            assert item is not None
            return item  # already theirs: nothing to change, nothing to audit
        load = await handover.load_of(target["id"], conn=conn, now=now)
        values = _assign_values(work, actor, row, target, load, reason, override, now)
        data: dict[str, Any] = {"to": target["name"], "from_id": row["assignee_id"], "load": load,
                                "capacity": target["capacity"]}
        if override and load >= target["capacity"]:
            data["override"] = True
        if reason:
            data["reason"] = reason
        await items.update_item(item_id, values, conn=conn)
        await items.insert_events([{"item_id": item_id, "kind": "assigned", "actor": actor.name, "team": row["team"],
                                    "data": data, "created_at": now}], conn=conn)
        await people_notify.on_assigned(conn, item_id, target["id"], actor.name, now)
        await pubsub.notify_pg(conn, [item_id])
        item = await items.get_item(item_id, conn=conn)
    assert item is not None
    log.info("item_assigned", item_id=item_id, team=row["team"], user=actor.name, assignee=target["name"],
             override=bool(data.get("override")))
    work.publish([item_id])
    return item


async def reopen(work: WorkService, actor: UserInfo, item_id: int) -> ItemSummary:
    """A resolved (or spam) item back to its team's queue as new."""
    now = work.clock.now()
    async with work.engine.begin() as conn:
        row = await _lock_for(work, actor, item_id, conn)
        if row["status"] not in _CLOSED:
            raise Conflict(f"item {item_id} is {row['status']}, not resolved")
        await items.update_item(item_id, {"status": ItemStatus.NEW, "assignee_id": None, "lease_owner": None,
                                          "lease_expires_at": None, "assigned_at": None, "resolved_at": None,
                                          "updated_at": now}, conn=conn)
        await items.insert_events([{"item_id": item_id, "kind": "reopened", "actor": actor.name, "team": row["team"],
                                    "data": {"from": row["status"]}, "created_at": now}], conn=conn)
        await pubsub.notify_pg(conn, [item_id])
        item = await items.get_item(item_id, conn=conn)
    assert item is not None
    log.info("item_reopened", item_id=item_id, team=row["team"], user=actor.name)
    work.publish([item_id])
    return item
