"""The claim/lease state machine, driven by hypothesis through the real WorkService on a real
database with a fake clock: whatever the interleaving of claim, release, resolve, status changes,
lease expiry and the passing of time, no item ever has two holders, a holder's valid lease is never
taken by another agent, actions by someone who no longer holds an item are refused, and an item
whose lease ran out is claimable again."""
from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select, text

from connectors.base import Mention
from inbox.domain.clock import FakeClock
from inbox.domain.types import UserInfo
from inbox.errors import Conflict, Forbidden
from inbox.ingest.classifier import ClassifierHolder
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts
from inbox.storage.repo._common import T_ITEM
from inbox.work.item_actions import WorkService
from tests.conftest import KeywordClassifier, make_settings, pg_or_skip

TEAM = "customer_care"
N_ITEMS = 4
LEASE = timedelta(minutes=15)
AGENTS = ("ann", "bob", "cid")


@dataclass
class Hold:
    user: str
    until: datetime


async def _build(url: str, tmp: Path) -> None:
    settings = make_settings(url, tmp)
    svc = await Services.open(settings, clock=FakeClock())
    try:
        await migrate.upgrade(svc.engine)
        now = svc.clock.now()
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=now)
            for name in AGENTS:
                await accounts.add_user(name, "agent", [TEAM], None, conn=conn, now=now, capacity=2)
            await accounts.add_user("lea", "lead", [TEAM], None, conn=conn, now=now, capacity=10)
        svc.classifier = ClassifierHolder(KeywordClassifier())
        pipeline = await svc.ready_pipeline()
        await pipeline.ingest([Mention(source="sm", platform="sm", external_id=f"i{i}",
                                       text=f"my order {i} arrived broken, please help") for i in range(N_ITEMS)])
    finally:
        await svc.close()


async def _reset(url: str) -> None:
    """Every item back to new and unheld, the audit log emptied (PostgreSQL: one database reused)."""
    from inbox.storage.engine import create_engine
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE queue_item SET status = 'new', assignee_id = NULL, lease_owner = NULL, "
                                    "lease_expires_at = NULL, assigned_at = NULL, resolved_at = NULL, "
                                    "first_touched_at = NULL, sla_paused_at = NULL"))
            await conn.execute(text("DELETE FROM event WHERE kind <> 'routed'"))
    finally:
        await engine.dispose()


class ClaimMachine(RuleBasedStateMachine):
    """Model: who holds which item until when (per the answers the service gave), and which items
    are closed. The database is checked against the model after every step."""

    url: str = ""
    tmp: Path = Path(".")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        settings = make_settings(self.url, self.tmp)
        self.svc = self.run(Services.open(settings, clock=self.clock))
        self.work = WorkService(self.svc.engine, settings, self.clock)
        self.holds: dict[int, Hold] = {}
        self.status: dict[int, str] = {}
        self.users: dict[str, UserInfo] = {}
        self.ids: list[int] = []

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.svc.close())
        self.loop.close()

    @initialize()
    def load(self) -> None:
        async def go() -> None:
            async with self.svc.engine.connect() as conn:
                for name in (*AGENTS, "lea"):
                    u = await accounts.get_user(name, conn=conn)
                    assert u is not None
                    self.users[name] = u
                self.ids = sorted(r[0] for r in await conn.execute(select(T_ITEM.c.id)))
        self.run(go())
        assert len(self.ids) == N_ITEMS
        self.status = {i: "new" for i in self.ids}

    # the model ---------------------------------------------------------------------------------
    def valid_holder(self, item: int) -> str | None:
        h = self.holds.get(item)
        return h.user if h is not None and h.until >= self.clock.now() else None

    def held_by(self, user: str) -> int:
        return sum(1 for i in self.holds if self.valid_holder(i) == user)

    def claimable(self) -> set[int]:
        return {i for i in self.ids
                if self.status[i] == "new" or (self.status[i] == "claimed" and self.valid_holder(i) is None)}

    # rules ------------------------------------------------------------------------------------
    @rule(who=st.sampled_from(AGENTS + ("lea",)))
    def claim(self, who: str) -> None:
        user = self.users[who]
        try:
            item = self.run(self.work.claim_next(user, TEAM))
        except Conflict:
            assert self.held_by(who) >= user.capacity, f"{who} refused below capacity"
            return
        assert self.held_by(who) < user.capacity, f"{who} got an item beyond capacity"
        if item is None:
            assert not self.claimable(), f"queue said empty while {sorted(self.claimable())} were claimable"
            return
        holder = self.valid_holder(item.id)
        assert holder is None, f"item {item.id} given to {who} while {holder}'s lease is valid"
        assert item.id in self.claimable(), f"item {item.id} ({self.status[item.id]}) was not claimable"
        self.holds[item.id] = Hold(who, self.clock.now() + LEASE)
        self.status[item.id] = "claimed"

    @rule(who=st.sampled_from(AGENTS + ("lea",)), k=st.integers(0, N_ITEMS - 1))
    def release(self, who: str, k: int) -> None:
        item = self.ids[k]
        h = self.holds.get(item)
        try:
            self.run(self.work.release(self.users[who], item))
        except Conflict:
            assert h is None, f"release of {item} refused as not claimed, but {h} holds it"
            return
        except Forbidden:
            assert h is not None and h.user != who and who != "lea"
            return
        assert h is not None and (h.user == who or who == "lea"), f"{who} released {item} held by {h}"
        del self.holds[item]
        self.status[item] = "new"

    @rule(who=st.sampled_from(AGENTS + ("lea",)), k=st.integers(0, N_ITEMS - 1),
          status=st.sampled_from(["resolved", "replied", "waiting", "claimed"]))
    def set_status(self, who: str, k: int, status: str) -> None:
        item = self.ids[k]
        holder = self.valid_holder(item)
        closed = self.status[item] == "resolved"
        try:
            self.run(self.work.set_status(self.users[who], item, status))
        except Conflict:
            assert (closed and status != "claimed") or (holder not in (None, who) and who != "lea"), \
                f"{who} refused {status} on {item} (holder {holder}, status {self.status[item]})"
            return
        assert holder in (None, who) or who == "lea", f"{who} acted on {item} while {holder}'s lease is valid"
        assert not (closed and status != "claimed"), f"{status} accepted on resolved item {item}"
        self.holds.pop(item, None)
        if status == "claimed":
            self.holds[item] = Hold(who, self.clock.now() + LEASE)
        self.status[item] = status

    @rule()
    def expire(self) -> None:
        back = set(self.run(self.work.expire_leases()))
        now = self.clock.now()
        due = {i for i, h in self.holds.items() if h.until < now}
        assert back == due, f"expiry returned {sorted(back)}, the model says {sorted(due)}"
        for i in back:
            del self.holds[i]
            self.status[i] = "new"

    @rule(seconds=st.sampled_from([1, 30, 59, 60, 61, 420, 840, 899, 900, 901, 1800]))
    def advance(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    # invariants ---------------------------------------------------------------------------------
    @invariant()
    def database_agrees_with_the_model(self) -> None:
        if not self.ids:
            return

        async def rows() -> list[Any]:
            async with self.svc.engine.connect() as conn:
                return list(await conn.execute(select(T_ITEM.c.id, T_ITEM.c.status, T_ITEM.c.assignee_id,
                                                      T_ITEM.c.lease_owner, T_ITEM.c.lease_expires_at)))
        by_id = {u.id: n for n, u in self.users.items()}
        for item, status, assignee, owner, until in self.run(rows()):
            assert status == self.status[item], (
                f"item {item}: {status} in the database, {self.status[item]} in the model"
            )
            h = self.holds.get(item)
            if status == "claimed":
                assert h is not None and by_id.get(assignee) == h.user, f"item {item}: db {assignee}, model {h}"
                assert owner == f"user:{assignee}" and until == h.until
            else:
                assert h is None, f"item {item} is {status} in the database but held by {h} in the model"


@pytest.fixture(params=["sqlite", "postgres"])
def machine_db(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        template = tmp_path / "template.db"
        asyncio.run(_build(f"sqlite+aiosqlite:///{template}", tmp_path))
        yield ("sqlite", template)
        return
    pg_or_skip()
    from tests.conftest import create_pg_database, drop_pg_database, pg_url
    name = asyncio.run(create_pg_database())
    try:
        asyncio.run(_build(pg_url(name), tmp_path))
        yield ("postgres", pg_url(name))
    finally:
        asyncio.run(drop_pg_database(name))


def test_claims_never_give_one_item_to_two_holders(machine_db: Any, tmp_path: Path) -> None:
    """Random interleavings of claim/release/status/expiry/time: one holder per item, the database agrees."""
    kind, where = machine_db

    class Machine(ClaimMachine):
        def __init__(self) -> None:
            if kind == "sqlite":
                copy = tmp_path / f"run-{uuid.uuid4().hex[:8]}.db"
                shutil.copyfile(where, copy)
                type(self).url = f"sqlite+aiosqlite:///{copy}"
            else:
                type(self).url = where
                asyncio.run(_reset(where))
            type(self).tmp = tmp_path
            super().__init__()

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=40 if kind == "sqlite" else 20, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
