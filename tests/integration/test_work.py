"""Work on items on both back ends: claims are leases and never double-handed; transfers need a reason
and become labeled corrections; SLA pauses while waiting; access follows team membership."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from connectors.base import Mention
from inbox.errors import Conflict, Forbidden, Invalid, NotFound
from inbox.storage.repo import accounts, items
from inbox.work.item_actions import WorkService


async def _users(svc: Any) -> dict[str, Any]:
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        return {
            "ann": await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now, capacity=2),
            "bob": await accounts.add_user("bob", "agent", ["customer_care"], None, conn=conn, now=now),
            "hri": await accounts.add_user("hri", "agent", ["hr"], None, conn=conn, now=now),
            "mkt": await accounts.add_user("mkt", "agent", ["marketing"], None, conn=conn, now=now),
            "adm": await accounts.add_user("adm", "admin", [], None, conn=conn, now=now),
        }


async def _seed(svc: Any, n: int = 3) -> None:
    batch = [Mention(source="t", platform="t", external_id=f"c{i}", text=f"my order {i} is broken, refund")
             for i in range(n)]
    batch.append(Mention(source="t", platform="t", external_id="h1", text="job interview next week?"))
    await svc.pipeline.ingest(batch)


def _work(svc: Any) -> WorkService:
    return WorkService(svc.engine, svc.settings, svc.clock)


async def test_claims_are_distinct_and_respect_capacity(services: Any) -> None:
    """Two agents get different items; an agent at capacity is refused; an empty queue gives None."""
    u = await _users(services)
    await _seed(services, 3)
    w = _work(services)
    a1 = await w.claim_next(u["ann"], "customer_care")
    b1 = await w.claim_next(u["bob"], "customer_care")
    a2 = await w.claim_next(u["ann"], "customer_care")
    assert a1 and b1 and a2 and len({a1.id, b1.id, a2.id}) == 3
    with pytest.raises(Conflict, match="capacity"):
        await w.claim_next(u["ann"], "customer_care")
    assert await w.claim_next(u["bob"], "customer_care") is None


async def test_expired_lease_returns_the_item(services: Any) -> None:
    """A claim whose lease expired can be claimed by someone else, and the sweeper returns it."""
    u = await _users(services)
    await _seed(services, 1)
    w = _work(services)
    first = await w.claim_next(u["ann"], "customer_care")
    assert first is not None
    assert await w.claim_next(u["bob"], "customer_care") is None
    services.clock.advance(services.settings.server.claim_lease + timedelta(seconds=1))
    assert await w.expire_leases() == [first.id]
    again = await w.claim_next(u["bob"], "customer_care")
    assert again is not None and again.id == first.id and again.assignee == "bob"


async def test_transfer_needs_reason_and_records_a_correction(services: Any) -> None:
    """A transfer moves the item, resets its state, and stores the mention with the new team's label."""
    u = await _users(services)
    await _seed(services, 1)
    w = _work(services)
    item = await w.claim_next(u["ann"], "customer_care")
    assert item is not None
    with pytest.raises(Invalid):
        await w.transfer(u["ann"], item.id, "marketing", "  ")
    moved = await w.transfer(u["ann"], item.id, "marketing", "this is product feedback, not a case")
    assert (moved.team, moved.status, moved.assignee) == ("marketing", "new", None)
    async with services.engine.connect() as conn:
        corr = await items.corrections(conn=conn)
    assert [(c["label"], c["predicted_label"]) for c in corr] == [("marketing", "customer_care")]
    assert "my order" in corr[0]["text"]
    # ann no longer sees it; marketing does; bouncing back is counted
    with pytest.raises(NotFound):
        await w.get(u["ann"], item.id)
    await w.transfer(u["mkt"], item.id, "customer_care", "actually a broken order")
    back = await w.get(u["ann"], item.id)
    assert back.extra["bounces"] == 1 and back.extra["transfers"] == 2


async def test_hr_items_are_invisible_to_other_teams(services: Any) -> None:
    """A customer-care agent cannot read, list or act on HR items; the HR agent can; admins can."""
    u = await _users(services)
    await _seed(services, 1)
    w = _work(services)
    async with services.engine.connect() as conn:
        hr_items = await items.list_items("hr", conn=conn)
    assert len(hr_items) == 1
    hid = hr_items[0].id
    with pytest.raises(NotFound):
        await w.get(u["ann"], hid)
    with pytest.raises(NotFound):
        w.check_team(u["ann"], "hr")
    with pytest.raises(NotFound):
        await w.add_note(u["ann"], hid, "peek")
    assert (await w.get(u["hri"], hid)).team == "hr"
    assert (await w.get(u["adm"], hid)).team == "hr"
    with pytest.raises(Forbidden):
        w.check_team(u["ann"], "marketing")


async def test_waiting_pauses_the_sla(services: Any) -> None:
    """Time spent waiting on the customer moves the due times later by the same amount."""
    u = await _users(services)
    await _seed(services, 1)
    w = _work(services)
    item = await w.claim_next(u["ann"], "customer_care")
    assert item is not None and item.first_response_due is not None
    due0 = item.resolve_due
    await w.set_status(u["ann"], item.id, "waiting")
    services.clock.advance(timedelta(hours=3))
    back = await w.set_status(u["ann"], item.id, "claimed")
    assert back.resolve_due == due0 + timedelta(hours=3)
    done = await w.set_status(u["ann"], item.id, "resolved")
    assert done.status == "resolved" and done.extra["resolved_at"] is not None


async def test_notes_by_watchers(services: Any) -> None:
    """A watcher team can add notes to an item it watches but cannot resolve it."""
    u = await _users(services)
    w = _work(services)
    await services.pipeline.ingest([Mention(source="t", platform="t", external_id="w1", text="xyz unclear")])
    async with services.engine.connect() as conn:
        tri = (await items.list_items("triage", conn=conn))[0]
    assert tri.watchers == ["customer_care"]  # in triage the top label's team watches (0.3 >= 0.25)
    async with services.engine.begin() as conn:
        await items.update_item(tri.id, {"watchers": ["marketing"]}, conn=conn)
    await w.add_note(u["mkt"], tri.id, "looks like a product question")
    with pytest.raises(Forbidden):
        await w.set_status(u["mkt"], tri.id, "resolved")
    with pytest.raises(NotFound):
        await w.add_note(u["hri"], tri.id, "no")


async def test_concurrent_claims_never_share_an_item(services: Any) -> None:
    """8 agents claiming concurrently from one queue never receive the same item."""
    now = services.clock.now()
    async with services.engine.begin() as conn:
        agents = [await accounts.add_user(f"a{i}", "agent", ["customer_care"], None, conn=conn, now=now, capacity=100)
                  for i in range(8)]
    await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"k{i}", text=f"refund order {i}")
                                    for i in range(60)])
    w = _work(services)

    async def worker(a: Any) -> list[int]:
        got = []
        while True:
            it = await w.claim_next(a, "customer_care")
            if it is None:
                return got
            got.append(it.id)

    results = await asyncio.gather(*[worker(a) for a in agents])
    flat = [i for r in results for i in r]
    assert len(flat) == 60 and len(set(flat)) == 60


async def test_claims_follow_the_queue_order(services: Any) -> None:
    """Claim next takes the items in the queue page's order: priority, then due time with no due
    time last, then age; priorities outside 0..3 included. On SQLite the claim reads ranges of the
    queue index, one per priority level, instead of sorting all the team's new items under the
    write lock (ascending SQLite indexes put NULL due times first, so one range of (team, status)
    would have to be sorted)."""
    from inbox.storage.repo import page_reads
    from tests.conftest import sent_statements
    now = services.clock.now()
    async with services.engine.begin() as conn:
        cap = await accounts.add_user("cap", "agent", ["customer_care"], None, conn=conn, now=now, capacity=10)
    await _seed(services, 6)
    async with services.engine.connect() as conn:
        ids = sorted(r.id for r in await page_reads.queue_page("customer_care", conn=conn, statuses=("new",)))
    assert len(ids) == 6
    soon, later = now + timedelta(minutes=5), now + timedelta(hours=2)
    shape = {ids[0]: (1, None), ids[1]: (3, later), ids[2]: (1, soon), ids[3]: (3, soon), ids[4]: (0, None),
             ids[5]: (5, None)}
    async with services.engine.begin() as conn:
        for item_id, (priority, due) in shape.items():
            await items.update_item(item_id, {"priority": priority, "first_response_due": due}, conn=conn)
    expected = [ids[5], ids[3], ids[1], ids[2], ids[0], ids[4]]
    async with services.engine.connect() as conn:
        assert [r.id for r in await page_reads.queue_page("customer_care", conn=conn, statuses=("new",))] == expected
    w = _work(services)
    # on a SQLite file the claims run in the writer thread's connection (inbox.storage.write_units)
    with sent_statements(w.writes.thread_engine() or services.engine, "UPDATE") as sent:
        got = [await w.claim_next(cap, "customer_care") for _ in expected]
    assert [g.id for g in got if g is not None] == expected
    if services.engine.dialect.name == "sqlite":
        statement, parameters = sent[0]
        async with services.engine.connect() as conn:
            plan = [str(r[-1]) for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        ranges = [p for p in plan if p.startswith("SEARCH queue_item USING") and "team=?" in p]
        assert ranges and all("priority" in p for p in ranges), plan
