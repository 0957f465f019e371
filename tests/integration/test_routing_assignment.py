"""Auto-assignment on both back ends: round-robin and least-loaded respect each agent's capacity and
availability and the team's per-agent cap, nothing piles on one agent, items wait when everybody is
full, idle auto-assignments move on after reassign_after, and acting on an item keeps it."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import Mention
from inbox.domain.clock import FakeClock
from inbox.ops.services import Services
from inbox.storage.repo import accounts, items
from inbox.storage.tables import QueueItem
from inbox.work import auto_assign
from inbox.work.auto_assign import AgentSlot, pick_agent
from inbox.work.item_actions import WorkService
from tests.conftest import open_services

T = QueueItem.__table__


async def _svc(db_url: str, settings_factory: Any, classifier: Any, **team: Any) -> Services:
    base = settings_factory(db_url)
    teams = [t.model_dump() | (team if t.name == "customer_care" else {}) for t in base.teams]
    settings = settings_factory(db_url, teams=teams)
    svc = await open_services(settings, clock=FakeClock(), classifier=classifier)
    return svc


@pytest.fixture
def make(db_url: str, settings_factory: Any, fake_classifier: Any) -> Any:
    """Services whose customer_care team has the given settings (each test closes its own)."""
    async def factory(**team: Any) -> Services:
        return await _svc(db_url, settings_factory, fake_classifier, **team)
    return factory


async def _agents(svc: Any, specs: list[tuple[str, str, int]]) -> dict[str, Any]:
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        return {n: await accounts.add_user(n, role, ["customer_care"], None, conn=conn, now=now, capacity=cap)
                for n, role, cap in specs}


async def _items(svc: Any, n: int, prefix: str = "c") -> None:
    await svc.pipeline.ingest([Mention(source="t", platform="t", external_id=f"{prefix}{i}", language="en",
                                       text=f"refund for my broken order number {i} please") for i in range(n)])


async def _loads(svc: Any) -> Counter[int]:
    async with svc.engine.connect() as conn:
        rows = await conn.execute(select(T.c.assignee_id).where(T.c.status == "claimed"))
        return Counter(r[0] for r in rows)


async def _assign_events(svc: Any) -> list[str]:
    async with svc.engine.connect() as conn:
        ids = [i.id for i in await items.list_items("customer_care", conn=conn, limit=500)]
        evs = [e for i in ids for e in await items.events_for(i, conn=conn) if e["kind"] == "assigned"]
    return [e["data"]["to"] for e in sorted(evs, key=lambda e: e["id"])]


async def test_round_robin_takes_turns_and_respects_capacity(make: Any) -> None:
    """Three available agents with capacity 2 get two items each in turn; the rest wait."""
    svc = await make(assignment="round_robin")
    try:
        u = await _agents(svc, [("ann", "agent", 2), ("bob", "agent", 2), ("cat", "lead", 2), ("dan", "agent", 2),
                                ("mgr", "manager", 5)])
        async with svc.engine.begin() as conn:
            await accounts.set_user_fields(u["dan"].id, {"available": False}, conn=conn, now=svc.clock.now())
        await _items(svc, 10)
        assert await auto_assign.auto_assign(svc) == {"customer_care": 6}
        assert await _assign_events(svc) == ["ann", "bob", "cat", "ann", "bob", "cat"]
        loads = await _loads(svc)
        assert loads == {u["ann"].id: 2, u["bob"].id: 2, u["cat"].id: 2}
        assert await auto_assign.auto_assign(svc) == {}  # everybody full: items wait
        # bob resolves one: the next round gives exactly one item, to bob
        async with svc.engine.connect() as conn:
            bobs = [i for i in await items.list_items("customer_care", conn=conn, limit=50) if i.assignee == "bob"]
        await WorkService(svc.engine, svc.settings, svc.clock).set_status(u["bob"], bobs[0].id, "resolved")
        assert await auto_assign.auto_assign(svc) == {"customer_care": 1}
        assert (await _assign_events(svc))[-1] == "bob"
    finally:
        await svc.close()


async def test_least_loaded_evens_out_and_respects_team_cap(make: Any) -> None:
    """Agents holding 3, 0 and 1 items end with equal loads; the team cap of 4 per agent holds."""
    svc = await make(assignment="least_loaded", agent_capacity=4)
    try:
        u = await _agents(svc, [("ann", "agent", 10), ("bob", "agent", 10), ("cat", "agent", 10)])
        await _items(svc, 4, "m")
        w = WorkService(svc.engine, svc.settings, svc.clock)
        for name in ("ann", "ann", "ann", "cat"):
            assert await w.claim_next(u[name], "customer_care") is not None
        await _items(svc, 20)
        assert await auto_assign.auto_assign(svc) == {"customer_care": 8}
        loads = await _loads(svc)
        assert loads == {u["ann"].id: 4, u["bob"].id: 4, u["cat"].id: 4}
        assigned = await _assign_events(svc)
        assert assigned == ["bob", "cat", "bob", "cat", "bob", "ann", "cat", "bob"]  # emptiest first, ties in turn
    finally:
        await svc.close()


async def test_idle_assignment_moves_on_but_acted_items_stay(make: Any) -> None:
    """After reassign_after an untouched item goes to another agent; one with a note stays."""
    svc = await make(assignment="round_robin", reassign_after="30m")
    try:
        u = await _agents(svc, [("ann", "agent", 1), ("bob", "agent", 1), ("cat", "agent", 1)])
        await _items(svc, 2)
        assert await auto_assign.auto_assign(svc) == {"customer_care": 2}  # ann, bob
        async with svc.engine.connect() as conn:
            held = {i.assignee: i.id for i in await items.list_items("customer_care", conn=conn)}
        w = WorkService(svc.engine, svc.settings, svc.clock)
        await w.add_note(u["bob"], held["bob"], "looking into it")
        svc.clock.advance(timedelta(minutes=29))
        assert await auto_assign.reassign_idle(svc) == {}
        svc.clock.advance(timedelta(minutes=2))
        assert await auto_assign.reassign_idle(svc) == {"customer_care": 1}
        async with svc.engine.connect() as conn:
            now_held = {i.id: i.assignee for i in await items.list_items("customer_care", conn=conn)}
        assert now_held == {held["ann"]: "cat", held["bob"]: "bob"}
        # ann and bob leave: the next idle reassignment finds nobody and returns the item to the queue
        async with svc.engine.begin() as conn:
            for name in ("ann", "bob"):
                await accounts.set_user_fields(u[name].id, {"available": False}, conn=conn, now=svc.clock.now())
        svc.clock.advance(timedelta(minutes=31))
        assert await auto_assign.reassign_idle(svc) == {"customer_care": 1}
        async with svc.engine.connect() as conn:
            item = await items.get_item(held["ann"], conn=conn)
        assert item is not None and (item.status, item.assignee) == ("new", None)
    finally:
        await svc.close()


async def test_unavailable_assignee_loses_untouched_items(make: Any) -> None:
    """When an agent goes unavailable, their untouched auto-assigned items move to a colleague."""
    svc = await make(assignment="least_loaded")
    try:
        u = await _agents(svc, [("ann", "agent", 5), ("bob", "agent", 5)])
        await _items(svc, 4)
        await auto_assign.auto_assign(svc)
        async with svc.engine.begin() as conn:
            await accounts.set_user_fields(u["ann"].id, {"available": False}, conn=conn, now=svc.clock.now())
        assert await auto_assign.reassign_idle(svc) == {"customer_care": 2}
        assert await _loads(svc) == {u["bob"].id: 4}
    finally:
        await svc.close()


@pytest.mark.parametrize("strategy", ["round_robin", "least_loaded"])
def test_pick_agent_never_exceeds_capacity(strategy: str) -> None:
    """The pure policy hands out at most each agent's capacity and spreads items evenly."""
    slots = [AgentSlot(1, "a", 3, 0, 0, 0), AgentSlot(2, "b", 5, 2, 2, 0), AgentSlot(3, "c", 1, 0, 0, 0)]
    got: Counter[int] = Counter()
    seq = 0
    while (s := pick_agent(slots, strategy, team_capacity=10)) is not None:
        seq += 1
        s.load += 1
        s.team_load += 1
        s.seq = seq
        got[s.id] += 1
    assert got == {1: 3, 2: 3, 3: 1}
    assert all(s.load <= s.capacity for s in slots)
