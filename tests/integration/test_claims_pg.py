"""Claims on a real PostgreSQL with real concurrency (one engine, so one connection pool, per agent or
instance): 8 agents draining 1,000 items never receive the same one; an expired lease returns the
item to the next claimer; capacity holds under concurrent claims by one agent and concurrent
auto-assigners."""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from connectors.base import Mention
from inbox.domain.clock import FakeClock
from inbox.errors import Conflict
from inbox.ops.services import Services
from inbox.storage.engine import create_engine
from inbox.storage.repo import accounts
from inbox.storage.tables import Event, QueueItem
from inbox.work import auto_assign
from inbox.work.item_actions import WorkService
from tests.conftest import open_services

pytestmark = pytest.mark.postgres
T = QueueItem.__table__


@pytest.fixture
async def pg(pg_db_url: str, settings_factory: Any, fake_classifier: Any) -> AsyncIterator[Services]:
    settings = settings_factory(pg_db_url)
    svc = await open_services(settings, clock=FakeClock(), classifier=fake_classifier)
    yield svc
    await svc.close()


async def _seed(svc: Any, n: int) -> None:
    for start in range(0, n, 500):
        await svc.pipeline.ingest(
            [
                Mention(
                    source="t", platform="t", external_id=f"k{i}", language="en", text=f"refund for my broken order {i}"
                )
                for i in range(start, min(n, start + 500))
            ]
        )


async def _agents(svc: Any, n: int, capacity: int) -> list[Any]:
    async with svc.engine.begin() as conn:
        return [await accounts.add_user(f"a{i}", "agent", ["customer_care"], None, conn=conn, now=svc.clock.now(),
                                        capacity=capacity) for i in range(n)]


def _work(svc: Any) -> tuple[WorkService, Any]:
    """A WorkService on its own engine: its own connections, as another process would have."""
    engine = create_engine(svc.settings.database_url, pool_size=2)
    return WorkService(engine, svc.settings, svc.clock), engine


async def test_eight_agents_drain_a_thousand_items_without_sharing_one(pg: Any) -> None:
    """8 agents claiming and resolving concurrently get 1,000 distinct items, each claimed once."""
    await _seed(pg, 1000)
    agents = await _agents(pg, 8, capacity=5)
    works = [_work(pg) for _ in agents]

    async def agent(user: Any, w: WorkService) -> list[int]:
        got = []
        while (item := await w.claim_next(user, "customer_care")) is not None:
            got.append(item.id)
            await w.set_status(user, item.id, "resolved")
        return got

    try:
        results = await asyncio.gather(*[agent(u, w) for u, (w, _) in zip(agents, works, strict=True)])
    finally:
        for _, e in works:
            await e.dispose()
    flat = [i for r in results for i in r]
    assert len(flat) == 1000 and len(set(flat)) == 1000
    assert sum(1 for r in results if r) == 8  # everybody worked
    async with pg.engine.connect() as conn:
        claimed = (await conn.execute(select(func.count()).select_from(Event.__table__)
                                      .where(Event.__table__.c.kind == "claimed"))).scalar_one()
        open_left = (
            await conn.execute(select(func.count()).select_from(T).where(T.c.status != "resolved"))
        ).scalar_one()
    assert (claimed, open_left) == (1000, 0)


async def test_expired_lease_returns_the_item_to_another_agent(pg: Any) -> None:
    """When a claim's lease runs out, another agent's claim takes the item and the first loses it."""
    await _seed(pg, 1)
    ann, bob = await _agents(pg, 2, capacity=5)
    (wa, ea), (wb, eb) = _work(pg), _work(pg)
    try:
        first = await wa.claim_next(ann, "customer_care")
        assert first is not None
        assert await wb.claim_next(bob, "customer_care") is None
        pg.clock.advance(pg.settings.server.claim_lease + timedelta(seconds=1))
        again = await wb.claim_next(bob, "customer_care")
        assert again is not None and again.id == first.id and again.assignee == "a1"
        with pytest.raises(Conflict):
            await wa.set_status(ann, first.id, "resolved")
    finally:
        await ea.dispose()
        await eb.dispose()


async def test_capacity_holds_under_concurrent_claims_and_assigners(pg: Any, fake_classifier: Any) -> None:
    """Each agent claims from two sessions at once while two auto-assigners run: nobody exceeds capacity."""
    await _seed(pg, 300)
    agents = await _agents(pg, 8, capacity=3)
    works = [_work(pg) for _ in range(16)]
    teams = [t.model_dump() | ({"assignment": "least_loaded"} if t.name == "customer_care" else {})
             for t in pg.settings.teams]
    s2 = pg.settings.model_copy(update={"teams": [type(pg.settings.teams[0])(**t) for t in teams]})
    inst = [await Services.open(s2, clock=pg.clock) for _ in range(2)]

    async def claimer(user: Any, w: WorkService) -> int:
        n = 0
        for _ in range(6):
            try:
                if await w.claim_next(user, "customer_care") is None:
                    break
                n += 1
            except Conflict:
                pass  # at capacity
        return n

    try:
        await asyncio.gather(*[claimer(agents[i % 8], works[i][0]) for i in range(16)],
                             *[auto_assign.auto_assign(s) for s in inst for _ in range(3)])
    finally:
        for _, e in works:
            await e.dispose()
        for s in inst:
            await s.close()
    async with pg.engine.connect() as conn:
        loads = Counter(r[0] for r in await conn.execute(select(T.c.assignee_id).where(T.c.status == "claimed")))
    assert set(loads) == {a.id for a in agents}
    assert all(n == 3 for n in loads.values()), loads


async def test_a_change_to_a_row_changed_since_it_was_read_writes_nothing(pg: Any) -> None:
    """The unlocked write of a change applies only to the row version it was decided on: no update, no event."""
    from inbox.storage.repo import claims, items
    await _seed(pg, 1)
    now = pg.clock.now()
    async with claims.connection(pg.engine) as tx:
        row = await claims.read_item(1, tx=tx)
    assert row is not None
    async with pg.engine.begin() as conn:
        await items.update_item(1, {"watchers": ["pr"]}, conn=conn)  # someone else's write in between
    event = {"kind": "status", "actor": "x", "team": row["team"], "data": {}, "created_at": now}
    async with claims.connection(pg.engine) as tx:
        assert await claims.apply_change_if_unchanged(1, row["_version"], {"status": "spam"}, event, tx=tx) is None
        fresh = await claims.read_item(1, tx=tx)
        assert fresh is not None
        done = await claims.apply_change_if_unchanged(1, fresh["_version"], {"status": "spam"}, event, tx=tx)
    assert done is not None and done.status == "spam" and done.watchers == ["pr"]
    async with pg.engine.connect() as conn:
        kinds = [e["kind"] for e in await items.events_for(1, conn=conn)]
    assert kinds.count("status") == 1


async def test_a_resolve_racing_a_new_claim_is_decided_under_the_lock(pg: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """When another agent claims the item between the resolver's read and write, the resolver gets the
    answer the row lock would give (claimed by someone else), and the other agent keeps the item."""
    from inbox.storage.repo import claims
    await _seed(pg, 1)
    ann, bob = await _agents(pg, 2, capacity=5)
    (wa, ea), (wb, eb) = _work(pg), _work(pg)
    read_item = claims.read_item

    async def read_then_bob_claims(item_id: int, *, tx: Any) -> Any:
        row = await read_item(item_id, tx=tx)
        monkeypatch.setattr(claims, "read_item", read_item)
        pg.clock.advance(pg.settings.server.claim_lease + timedelta(seconds=1))  # ann's lease runs out
        assert (await wb.claim_next(bob, "customer_care")) is not None
        return row

    try:
        first = await wa.claim_next(ann, "customer_care")
        assert first is not None
        monkeypatch.setattr(claims, "read_item", read_then_bob_claims)
        # another service on ann's engine: it did not claim the item, so it reads the row first
        with pytest.raises(Conflict, match="claimed by someone else"):
            await WorkService(ea, pg.settings, pg.clock).set_status(ann, first.id, "resolved")
        item = await wb.get(bob, first.id)
        assert (item.status, item.assignee) == ("claimed", "a1")
    finally:
        await ea.dispose()
        await eb.dispose()


def _count_statements(engine: Any) -> list[str]:
    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: seen.append(statement))
    return seen


async def test_a_resolve_after_the_claim_writes_on_the_claimed_row_in_one_statement(pg: Any) -> None:
    """The service that claimed an item resolves it in one statement (no read first): the claim
    returned the row and its version."""
    await _seed(pg, 1)
    (ann,) = await _agents(pg, 1, capacity=5)
    wa, ea = _work(pg)
    try:
        first = await wa.claim_next(ann, "customer_care")
        assert first is not None
        statements = _count_statements(ea)
        done = await wa.set_status(ann, first.id, "resolved")
        assert done.status == "resolved"
        assert len(statements) == 1, statements
    finally:
        await ea.dispose()


async def test_a_resolve_on_a_claimed_row_that_changed_is_decided_on_the_current_row(pg: Any) -> None:
    """When the item changed after this service claimed it (ann's lease ran out and bob claimed
    it), ann's resolve is refused as the current row says (claimed by someone else), not decided
    on the row her claim wrote, and bob keeps the item."""
    await _seed(pg, 1)
    ann, bob = await _agents(pg, 2, capacity=5)
    (wa, ea), (wb, eb) = _work(pg), _work(pg)
    try:
        first = await wa.claim_next(ann, "customer_care")
        assert first is not None
        pg.clock.advance(pg.settings.server.claim_lease + timedelta(seconds=1))
        assert (await wb.claim_next(bob, "customer_care")) is not None
        with pytest.raises(Conflict, match="claimed by someone else"):
            await wa.set_status(ann, first.id, "resolved")
        item = await wb.get(bob, first.id)
        assert (item.status, item.assignee) == ("claimed", "a1")
    finally:
        await ea.dispose()
        await eb.dispose()


async def test_claims_and_resolves_notify_other_instances(pg: Any) -> None:
    """Another instance LISTENing hears each claim and each resolve with notify_pg's payload, the item's id."""
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

    from inbox.storage.repo.pubsub import CHANNEL
    await _seed(pg, 2)
    (ann,) = await _agents(pg, 1, capacity=5)
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(pg.settings.database_url.replace("postgresql+asyncpg://", "postgresql://"))
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[-1]))
    w, e = _work(pg)
    try:
        first = await w.claim_next(ann, "customer_care")
        assert first is not None
        await w.set_status(ann, first.id, "resolved")
        second = await w.claim_next(ann, "customer_care")
        assert second is not None
        got = [await asyncio.wait_for(heard.get(), 10) for _ in range(3)]
    finally:
        await listener.close()
        await e.dispose()
    assert got == [f"[{first.id}]", f"[{first.id}]", f"[{second.id}]"]


async def test_a_claim_that_waited_for_the_agents_lock_counts_what_the_holder_committed(pg: Any) -> None:
    """The claim is one statement. Another session holds the agent's row lock and gives the agent an
    item (as the auto-assigner does); the claim waits for that lock, and when the holder commits it
    sees the agent at capacity, although its statement started before that commit."""
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
    await _seed(pg, 3)
    (ann,) = await _agents(pg, 1, capacity=1)
    work, engine = _work(pg)
    dsn = pg.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    holder, monitor = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT id FROM user_account WHERE id = $1 FOR UPDATE", ann.id)
        await holder.execute("UPDATE queue_item SET status = 'claimed', assignee_id = $1, lease_expires_at = $2 "
                             "WHERE id = (SELECT min(id) FROM queue_item)", ann.id,
                             pg.clock.now() + timedelta(minutes=30))
        claim = asyncio.create_task(work.claim_next(ann, "customer_care"))
        waiting = 0
        for _ in range(1000):  # until the claim's statement waits for the agent's row lock
            # (monitor is outside a transaction: a transaction sees one snapshot of pg_stat_activity)
            waiting = await monitor.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND query LIKE '%inbox_lock_open_claims%'")
            if waiting or claim.done():
                break
            await asyncio.sleep(0.01)
        assert waiting == 1 and not claim.done()
        await tx.commit()
        with pytest.raises(Conflict, match="capacity"):
            await claim
    finally:
        await holder.close()
        await monitor.close()
        await engine.dispose()
    async with pg.engine.connect() as conn:
        held = (await conn.execute(select(func.count()).select_from(T).where(T.c.assignee_id == ann.id))).scalar_one()
    assert held == 1
