"""Work on queue items: claim, release, status changes, notes, transfers. Every change is one short
transaction and one audit event; every transfer with a reason is a labeled correction."""
from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any, TypedDict

import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbox import faultpoints
from inbox.domain import sla_calendar
from inbox.domain.clock import Clock
from inbox.domain.types import ItemSummary, UserInfo
from inbox.errors import Conflict, Forbidden, Invalid, NotFound
from inbox.settings import Settings
from inbox.storage.engine import read_conn
from inbox.storage.repo import claims, items, pubsub
from inbox.storage.tables import ItemStatus
from inbox.storage.write_units import write_units
from inbox.work import people_notify

__all__ = ["WorkService", "visible_teams"]

log = structlog.get_logger(__name__)

_TARGET_STATUSES = {"replied", "waiting", "resolved", "spam", "claimed"}
MAX_NOTE = 5000
_CLAIMED_ROWS_KEPT = 512


class _ClaimArgs(TypedDict):
    user_id: int
    actor: str
    capacity: int
    owner: str
    now: datetime
    lease_until: datetime


def _claim_in_transaction(c: Connection, team: str, claim: _ClaimArgs) -> claims.Claim:
    got = claims.claim_next_sync(c, team, **claim)
    if got.item is not None:
        faultpoints.reach("claim_before_commit")
    return got


def visible_teams(user: UserInfo) -> list[str] | None:
    """Teams whose items (and watched items) the user may see; None means all (admin)."""
    return None if user.is_admin else list(user.teams)


class WorkService:
    def __init__(self, engine: AsyncEngine, settings: Settings, clock: Clock, *, owner: str = "web",
                 publish: Any = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.owner = owner
        self.publish = publish or (lambda ids: None)
        self.label_of_team = {t: lab for lab, t in settings.routing.label_to_team.items()}
        # PostgreSQL: rows this service's claims wrote, with their version, by item id (most recent
        # last). The next change of such an item decides on that row and writes only if the row is
        # still that version, one round trip instead of two; otherwise it reads the row as usual.
        self._claimed_rows: OrderedDict[int, dict[str, Any]] = OrderedDict()
        # on a SQLite file: claims and locked changes as one hand-off each to the writer thread
        self.writes = write_units(engine)

    # access -------------------------------------------------------------------------------
    def check_team(self, user: UserInfo, team: str) -> None:
        if self.settings.team(team) is None and not user.is_admin:
            raise NotFound(f"no queue {team!r}")
        if not user.is_admin and team not in user.teams:
            # 404 rather than 403 for private teams: do not even confirm that the queue exists
            if team in self.settings.private_teams:
                raise NotFound(f"no queue {team!r}")
            raise Forbidden(f"you are not a member of {team!r}")

    async def get(self, user: UserInfo, item_id: int, *, conn: AsyncConnection | None = None) -> ItemSummary:
        """The item as ``user`` may see it (NotFound otherwise); read on ``conn`` when given."""
        if conn is not None:
            item = await items.get_item(item_id, conn=conn, teams=visible_teams(user))
        else:
            async with read_conn(self.engine) as own:
                item = await items.get_item(item_id, conn=own, teams=visible_teams(user))
        if item is None:
            raise NotFound(f"no item {item_id}")
        return item

    def check_may_act(self, user: UserInfo, row: dict[str, Any]) -> None:
        """Raise unless ``user`` may act on the item ``row`` (members of its team and admins; a
        watcher gets 403, anyone else 404)."""
        self._may_act(user, row)

    def _may_act(self, user: UserInfo, row: dict[str, Any]) -> None:
        if user.is_admin or row["team"] in user.teams:
            return
        raise NotFound(f"no item {row['id']}") if row["team"] in self.settings.private_teams or \
            not set(user.teams) & set(row["watchers"] or []) else Forbidden("watchers can read and add notes, not act")

    # claims -------------------------------------------------------------------------------
    async def claim_next(self, user: UserInfo, team: str) -> ItemSummary | None:
        self.check_team(user, team)
        now = self.clock.now()
        claim = _ClaimArgs(user_id=user.id, actor=user.name, capacity=user.capacity, owner=f"user:{user.id}",
                           now=now, lease_until=now + self.settings.server.claim_lease)
        if claims.unlocked_changes(self.engine):
            # PostgreSQL: the claim is one statement that commits on its own. It locks the agent's
            # row first, which serialises this agent's concurrent claims with each other and with
            # the auto-assigner (which skips locked agents), and counts their open claims after the
            # lock is granted, so capacity is never exceeded (repo.claims). The crash tests' pause
            # point is therefore before that statement.
            async with claims.connection(self.engine) as tx:
                faultpoints.reach("claim_before_commit")
                got = await claims.claim_next(team, tx=tx, **claim)
        else:
            # SQLite: the claim's statements in one write transaction (a write unit), paused by the
            # crash tests after them, before the commit
            got = await self.writes.run(_claim_in_transaction, team, claim)
        if got.held >= user.capacity:
            raise Conflict(f"{user.name} already holds {user.capacity} items (capacity)")
        if got.item is None:
            return None
        item = got.item
        if got.row is not None:
            self._claimed_rows[item.id] = got.row
            if len(self._claimed_rows) > _CLAIMED_ROWS_KEPT:
                self._claimed_rows.popitem(last=False)
        log.info("item_claimed", item_id=item.id, team=team, user=user.name)
        self.publish([item.id])
        return item

    def _decide(self, user: UserInfo, row: dict[str, Any], kind: str, fn: Any, data: dict[str, Any] | None,
                watcher_ok: bool, now: datetime) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Access checks and ``fn`` on the item's row: (values to write, event_data, audit event)."""
        if watcher_ok and not user.is_admin and row["team"] not in user.teams:
            if row["team"] in self.settings.private_teams or not set(user.teams) & set(row["watchers"] or []):
                raise NotFound(f"no item {row['id']}")
        elif not watcher_ok:
            self._may_act(user, row)
        values, event_data, team = fn(row, now)
        return values, event_data, {"kind": kind, "actor": user.name, "team": team or row["team"],
                                    "data": {**(data or {}), **event_data}, "created_at": now}

    async def _change(self, user: UserInfo, item_id: int, kind: str, fn: Any, data: dict[str, Any] | None = None,
                      *, watcher_ok: bool = False) -> ItemSummary:
        now = self.clock.now()
        item = None
        if kind not in ("transfer", "label") and claims.unlocked_changes(self.engine):
            item, team = await self._change_unlocked(user, item_id, kind, fn, data, watcher_ok, now)
        if item is None:
            item, team = await self._change_locked(user, item_id, kind, fn, data, watcher_ok, now)
        log.info("item_" + kind, item_id=item_id, team=team, user=user.name)
        self.publish([item_id])
        return item

    async def _change_unlocked(self, user: UserInfo, item_id: int, kind: str, fn: Any, data: dict[str, Any] | None,
                               watcher_ok: bool, now: datetime) -> tuple[ItemSummary | None, str]:
        """PostgreSQL: decide on the row read without a lock and write only if it is still that row
        version: the same outcome as under the row lock in two round trips instead of four (no BEGIN,
        no COMMIT). None when there is nothing to write (a plain note) or the row changed meanwhile:
        the caller then takes the locked path."""
        async with claims.connection(self.engine) as tx:
            claimed = self._claimed_rows.pop(item_id, None)
            if claimed is not None:
                # the row this service's claim wrote: a decision on it stands only if the row is
                # still that version (the write checks); a refusal is made on the current row below
                try:
                    item = await self._write_unlocked(tx, user, claimed, kind, fn, data, watcher_ok, now)
                except (Conflict, Forbidden, NotFound, Invalid):
                    item = None
                if item is not None:
                    return item, claimed["team"]
            row = await claims.read_item(item_id, tx=tx)
            if row is None:
                raise NotFound(f"no item {item_id}")
            return await self._write_unlocked(tx, user, row, kind, fn, data, watcher_ok, now), row["team"]

    async def _write_unlocked(self, tx: claims.WorkTx, user: UserInfo, row: dict[str, Any], kind: str, fn: Any,
                              data: dict[str, Any] | None, watcher_ok: bool, now: datetime) -> ItemSummary | None:
        """Decide on ``row`` and write if the item is still at its version (None: nothing to write,
        or the row changed)."""
        values, _, event = self._decide(user, row, kind, fn, data, watcher_ok, now)
        if not values:
            return None
        values["updated_at"] = now
        item = await claims.apply_change_if_unchanged(row["id"], row["_version"], values, event, tx=tx)
        if item is not None and kind == "note":
            await people_notify.on_note(tx, row["id"], user.name, event["data"]["text"], now)
        return item

    async def _change_locked(self, user: UserInfo, item_id: int, kind: str, fn: Any, data: dict[str, Any] | None,
                             watcher_ok: bool, now: datetime) -> tuple[ItemSummary, str]:
        """The change in one write transaction (a write unit) under the item's row lock."""
        return await self.writes.run(self._change_in_transaction, user, item_id, kind, fn, data, watcher_ok, now)

    def _change_in_transaction(self, c: Connection, user: UserInfo, item_id: int, kind: str, fn: Any,
                               data: dict[str, Any] | None, watcher_ok: bool, now: datetime
                               ) -> tuple[ItemSummary, str]:
        row = items.lock_item_sync(c, item_id)
        if row is None:
            raise NotFound(f"no item {item_id}")
        values, event_data, event = self._decide(user, row, kind, fn, data, watcher_ok, now)
        if kind == "transfer":
            values.update(self._record_correction(c, row, event_data, user, now))
        elif kind == "label":  # a lead's answer in "help the model": a correction that keeps the team
            items.insert_correction_sync(c, {
                "mention_id": row["id"], "from_team": row["team"], "to_team": row["team"],
                "label": event_data["label"], "predicted_label": row["label"],
                "reason": event_data["reason"], "actor": user.name, "created_at": now})
        if values:
            values["updated_at"] = now
        # the actor may no longer see the item (a transfer away): answer with its new state anyway,
        # they just held it. One statement on PostgreSQL: update, event, NOTIFY, the new state.
        item = claims.apply_change_sync(c, item_id, values, event)
        if kind == "note":
            people_notify.on_note_sync(c, item_id, user.name, event["data"]["text"], now)
        return item, row["team"]

    async def release(self, user: UserInfo, item_id: int) -> ItemSummary:
        def fn(row: dict[str, Any], now: datetime) -> tuple[dict[str, Any], dict[str, Any], None]:
            if row["status"] != ItemStatus.CLAIMED:
                raise Conflict(f"item {item_id} is not claimed")
            if row["assignee_id"] != user.id and user.role not in ("lead", "admin"):
                raise Forbidden("only the assignee or a lead can release this item")
            return ({"status": ItemStatus.NEW, "assignee_id": None, "lease_owner": None,
                     "lease_expires_at": None, "assigned_at": None}, {}, None)
        return await self._change(user, item_id, "released", fn)

    async def set_status(self, user: UserInfo, item_id: int, status: str, *,
                         with_original: int | None = None) -> ItemSummary:
        """``with_original``: the item is a copy resolved with that one (recorded in the event)."""
        if status not in _TARGET_STATUSES:
            raise Invalid(f"status must be one of {sorted(_TARGET_STATUSES)}")

        def fn(row: dict[str, Any], now: datetime) -> tuple[dict[str, Any], dict[str, Any], None]:
            old = row["status"]
            if old in (ItemStatus.RESOLVED, ItemStatus.SPAM) and status != "claimed":
                raise Conflict(f"item {item_id} is already {old}")
            if row["assignee_id"] not in (None, user.id) and old == ItemStatus.CLAIMED \
                    and (row["lease_expires_at"] or now) >= now and user.role not in ("lead", "admin"):
                raise Conflict(f"item {item_id} is claimed by someone else")
            v: dict[str, Any] = {"status": status, "assignee_id": user.id, "assigned_at": None}
            if status == "claimed":
                v.update(lease_owner=f"user:{user.id}", lease_expires_at=now + self.settings.server.claim_lease)
            else:
                v.update(lease_owner=None, lease_expires_at=None)
            if row["first_touched_at"] is None:
                v["first_touched_at"] = now
            if status in ("resolved", "spam"):
                v["resolved_at"] = now
            # SLA clock pauses while waiting on the customer; the pause extends both due times
            if status == "waiting" and row["sla_paused_at"] is None:
                v["sla_paused_at"] = now
            elif status != "waiting" and row["sla_paused_at"] is not None:
                paused = now - row["sla_paused_at"]
                v["sla_paused_at"] = None
                for k in ("first_response_due", "resolve_due"):
                    if row[k] is not None:
                        v[k] = row[k] + paused
            return v, {"from": old, "to": status}, None
        return await self._change(user, item_id, "status", fn,
                                  None if with_original is None else {"with": with_original})

    async def add_note(self, user: UserInfo, item_id: int, text: str) -> ItemSummary:
        text = (text or "").strip()
        if not text:
            raise Invalid("a note needs text")
        if len(text) > MAX_NOTE:
            raise Invalid(f"a note is at most {MAX_NOTE} characters")

        def fn(row: dict[str, Any], now: datetime) -> tuple[dict[str, Any], dict[str, Any], None]:
            if row["assignee_id"] == user.id and (row["lease_owner"] or "").startswith("auto:"):
                # the assignee acted on an auto-assigned item: it becomes their ordinary claim and
                # is no longer a candidate for reassignment
                return ({"lease_owner": f"user:{user.id}", "assigned_at": None,
                         "lease_expires_at": now + self.settings.server.claim_lease}, {"text": text}, None)
            return {}, {"text": text}, None
        return await self._change(user, item_id, "note", fn, watcher_ok=True)

    async def transfer(self, user: UserInfo, item_id: int, team: str, reason: str, *,
                       label: str | None = None) -> ItemSummary:
        reason = (reason or "").strip()
        if not reason:
            raise Invalid("a transfer needs a reason")
        target = self.settings.team(team)
        if target is None:
            raise Invalid(f"no team {team!r}")

        def fn(row: dict[str, Any], now: datetime) -> tuple[dict[str, Any], dict[str, Any], str]:
            if row["team"] == team:
                raise Conflict(f"item {item_id} is already in {team!r}")
            if row["status"] in (ItemStatus.RESOLVED, ItemStatus.SPAM):
                raise Conflict(f"item {item_id} is {row['status']}")
            first_due, resolve_due = sla_calendar.due_times(now, target)
            return ({"team": team, "status": ItemStatus.NEW, "assignee_id": None, "lease_owner": None,
                     "lease_expires_at": None, "assigned_at": None, "transfers": row["transfers"] + 1,
                     "watchers": [] if target.private else [w for w in (row["watchers"] or []) if w != team],
                     "first_response_due": first_due, "resolve_due": resolve_due, "sla_paused_at": None,
                     "first_touched_at": row["first_touched_at"] or now},
                    {"from": row["team"], "to": team, "reason": reason, **({"label": label} if label else {})}, team)
        item = await self._change(user, item_id, "transfer", fn)
        return item

    async def set_label(self, user: UserInfo, item_id: int, label: str, reason: str) -> ItemSummary:
        """A lead confirms the model's label or gives the right one: recorded as a correction like a
        transfer's (its label against the predicted one); a label of another team moves the item
        there as a transfer does."""
        if user.role not in ("lead", "admin"):
            raise Forbidden("only leads and admins label items for the model")
        team = self.settings.routing.label_to_team.get(label)
        if team is None:
            raise Invalid(f"no label {label!r}")
        item = await self.get(user, item_id)
        if team != item.team:
            return await self.transfer(user, item_id, team, reason, label=label)

        def fn(row: dict[str, Any], now: datetime) -> tuple[dict[str, Any], dict[str, Any], None]:
            if row["status"] in (ItemStatus.RESOLVED, ItemStatus.SPAM):
                raise Conflict(f"item {item_id} is {row['status']}")
            return {}, {"label": label, "predicted": row["label"], "reason": reason}, None
        return await self._change(user, item_id, "label", fn)

    def _record_correction(self, c: Connection, row: dict[str, Any], data: dict[str, Any], user: UserInfo,
                           now: datetime) -> dict[str, Any]:
        """Record a transfer's labeled correction; returns the item's extra values (a bounce)."""
        label = data.get("label") or self.label_of_team.get(data["to"])
        # bouncing: the item comes back to a team it has already left (this transfer's own event is
        # written after this check; it left row["team"], never data["to"])
        history = items.events_for_sync(c, row["id"])
        left = {e["data"].get("from") for e in history if e["kind"] == "transfer" and e["data"]}
        extra = {"bounces": row["bounces"] + 1} if data["to"] in left else {}
        if label is None:
            return extra  # moved to triage or a team without a label: not a labeled correction
        items.insert_correction_sync(c, {"mention_id": row["id"], "from_team": data["from"], "to_team": data["to"],
                                         "label": label, "predicted_label": row["label"], "reason": data["reason"],
                                         "actor": user.name, "created_at": now})
        return extra

    async def expire_leases(self) -> list[int]:
        now = self.clock.now()
        async with self.engine.begin() as conn:
            back = await items.expire_leases(conn=conn, now=now)
            if back:
                await items.insert_events([{"item_id": i, "kind": "lease_expired", "actor": "system", "team": t,
                                            "data": {}, "created_at": now} for i, t in back], conn=conn)
                await pubsub.notify_pg(conn, [i for i, _ in back])
        ids = [i for i, _ in back]
        if ids:
            log.info("leases_expired", count=len(ids))
            self.publish(ids)
        return ids
