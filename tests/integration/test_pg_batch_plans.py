"""On PostgreSQL a prepared statement's generic plan, once chosen, is kept for the connection's
life: chosen while the mention table is nearly empty (or never analyzed, as with autovacuum off) it
stays a sequential scan when the table holds millions. The ingest's duplicate lookup is planned for
its actual arguments every time instead."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from inbox.storage import migrate
from inbox.storage.engine import create_engine
from inbox.storage.repo import mentions
from tests.conftest import sent_statements


async def test_duplicate_lookup_never_uses_a_generic_plan(pg_db_url: str) -> None:
    """Many lookups on one pooled connection: PostgreSQL counts only custom plans for them."""
    engine = create_engine(pg_db_url, pool_size=1)
    try:
        await migrate.upgrade(engine)
        now = datetime(2026, 11, 27, tzinfo=UTC)
        async with engine.begin() as conn:
            await mentions.insert_mentions([{
                "source": "s", "platform": "p", "external_id": f"e{i}", "text": "t", "fetched_at": now,
                "metrics": {}, "is_repost": False, "deleted": False} for i in range(3)], conn=conn)
        keys = [("s", f"e{i}") for i in range(5)]
        for _ in range(12):  # past PostgreSQL's 5 custom plans, after which it may go generic
            async with engine.connect() as conn:
                assert await mentions.existing_keys(keys, conn=conn) == {("s", "e0"), ("s", "e1"), ("s", "e2")}
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'SELECT mention.external_id%' AND statement LIKE '%external_id IN%'"))).all()
    finally:
        await engine.dispose()
    assert rows, "the lookup ran as a prepared statement on this connection"
    assert sum(r[0] for r in rows) == 0
    assert sum(r[1] for r in rows) >= 12


# as wide as the model's explanations (top features per class): without statistics the planner
# estimates a table's rows from its size and the row width
_EXPLANATION = json.dumps({"top_features": {lab: [[f"feature {i}", 0.1] for i in range(8)]
                                            for lab in ("customer_care", "hr", "marketing", "pr")}})


async def _queue_never_analyzed(conn: Any, n: int) -> int:
    """n items, each with its mention, routing decision and three events, written in id order in
    one transaction (no statistics yet, as after a fresh import with autovacuum off); the oldest
    item's id."""
    await conn.execute(text("INSERT INTO team (name, display_name, private) VALUES ('care', '', false)"))
    await conn.execute(text(
        "INSERT INTO mention (source, platform, external_id, text, fetched_at, is_repost, deleted) "
        "SELECT 's', 'p', 'e' || g, 'text ' || g, now(), false, false FROM generate_series(1, :n) g"), {"n": n})
    await conn.execute(text(
        "INSERT INTO queue_item (id, team, status, priority, watchers, breached_first_response, "
        "breached_resolution, transfers, bounces, created_at, updated_at) "
        "SELECT id, 'care', 'new', 1, '[]', false, false, 0, 0, now(), now() FROM mention"))
    await conn.execute(text(
        "INSERT INTO routing_decision (mention_id, team, reason, watchers, priority, action, explanation, "
        "created_at) SELECT id, 'care', 'model', '[]', 1, 'route', CAST(:explanation AS jsonb), now() "
        "FROM mention ORDER BY id"), {"explanation": _EXPLANATION})
    await conn.execute(text(
        "INSERT INTO event (item_id, kind, actor, team, data, created_at) "
        "SELECT id, k, 'system', 'care', CAST(:data AS jsonb), now() FROM queue_item, "
        "unnest(ARRAY['routed', 'claimed', 'status']) k ORDER BY id"),
        {"data": json.dumps({"from": "new", "to": "claimed", "reason": "the customer asked for a refund"})})
    return int((await conn.execute(text("SELECT min(id) FROM queue_item"))).scalar_one())


async def _explain(conn: Any, stmt: Any, params: dict[str, Any]) -> str:
    compiled = stmt.params(params).compile(dialect=conn.dialect,
                                           compile_kwargs={"literal_binds": True, "render_postcompile": True})
    return "\n".join(r[0] for r in await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + str(compiled)))


def _one_probe(plan: str, index: str) -> None:
    assert index + " " in plan, plan
    assert "Rows Removed by Filter" not in plan, plan  # no walk past other rows
    # the execution's buffers; the "Planning:" section's own (catalog reads, which vary with the
    # backend's caches) follow it
    executed = plan.split("\nPlanning", 1)[0]
    buffers = [int(b) for b in re.findall(r"shared hit=(\d+)", executed)]
    assert buffers and max(buffers) < 50, plan  # a handful of index pages, not thousands


async def test_latest_decision_is_one_index_probe_without_statistics(pg_db_url: str) -> None:
    """An item summary joins the mention's latest routing decision (max(id) WHERE mention_id = ?).
    On a table never analyzed (autovacuum off, a fresh import), PostgreSQL answered that max() for
    the oldest items by walking the primary key backwards past every newer decision, so claims
    slowed down as the queue grew. Revision 0005's (mention_id, id) index makes it one probe."""
    from inbox.storage.repo import items
    engine = create_engine(pg_db_url, pool_size=1)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            oldest = await _queue_never_analyzed(conn, 20000)
            plan = await _explain(conn, items._GET_BY_ID, {"item_id": oldest})
            item = await items.get_item(oldest, conn=conn)
    finally:
        await engine.dispose()
    assert item is not None and item.extra["route_reason"] == "model"
    _one_probe(plan, "ix_routing_decision_mention")


async def test_latest_event_is_one_index_probe_without_statistics(pg_db_url: str) -> None:
    """The live fan-out reads each changed item's latest event id (max(id) WHERE item_id = ?).
    Without statistics PostgreSQL walked the event table's primary key backwards past every newer
    event (60,000 here for the oldest item). Revision 0007's (item_id, id) index makes it one probe."""
    from inbox.storage.repo import page_reads
    engine = create_engine(pg_db_url, pool_size=1)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            oldest = await _queue_never_analyzed(conn, 20000)
            plan = await _explain(conn, page_reads._ITEM_STATES, {"ids": [oldest, oldest + 1]})
            states = await page_reads.item_states([oldest, oldest + 1], conn=conn)
            latest = dict((await conn.execute(text(
                "SELECT item_id, max(id) FROM event WHERE item_id IN (:a, :b) GROUP BY item_id"),
                {"a": oldest, "b": oldest + 1})).all())
    finally:
        await engine.dispose()
    assert {s["id"]: s["version"] for s in states} == latest
    _one_probe(plan, "ix_event_item")


async def test_an_imports_take_looks_its_items_up_without_statistics(pg_db_url: str) -> None:
    """`import` refines the items it brought in (rrepo.take with ``among``). With 20,000 other items
    waiting for the refiner, never analyzed, taking the newest few must not walk the refiner's
    partial index (every unrefined item) to find them: primary key lookups only."""
    from inbox.storage.repo import refine_queue as rrepo
    engine = create_engine(pg_db_url, pool_size=1)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            oldest = await _queue_never_analyzed(conn, 20000)
            newest = [oldest + 20000 - k for k in (3, 2, 1)]
            with sent_statements(engine, "UPDATE") as sent:
                async with conn.begin_nested() as savepoint:
                    taken = await rrepo.take(3, datetime.now(UTC), conn=conn, among=newest)
                    await savepoint.rollback()
            [(statement, parameters)] = sent
            plan = "\n".join(r[0] for r in await conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters))
    finally:
        await engine.dispose()
    assert taken == newest
    assert "ix_queue_item_refine" not in plan, plan
    assert "queue_item_pkey" in plan, plan
    assert "Rows Removed by Filter" not in plan, plan


async def _analyze(engine: Any) -> None:
    """Statistics for the planner, as autovacuum would gather them on a database in use."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))


async def _plans(engine: Any, statement_start: str) -> tuple[int, int]:
    """(generic, custom) plans PostgreSQL made for the prepared statements starting with
    ``statement_start`` on the engine's one pooled connection."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE :s"),
            {"s": statement_start + "%"})).all()
    assert rows, "the statement ran as a prepared statement on this connection"
    return sum(r[0] for r in rows), sum(r[1] for r in rows)


async def test_the_queue_page_is_planned_once_per_connection_not_per_page(pg_db_url: str) -> None:
    """The queue page is a UNION ALL of ten index slices: planning it took 5-15 ms against 1-2 ms to
    run it. With its row counts as parameters PostgreSQL judged the generic plan (a LIMIT $n is
    costed as a tenth of the rows) worse than each custom one and planned every page anew, which
    at 120 pages a second was most of the database's CPU. Its LIMITs are in the text, so after the
    first five pages the prepared statement's generic plan is reused."""
    from inbox.storage.repo import page_reads
    engine = create_engine(pg_db_url, pool_size=1)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            oldest = await _queue_never_analyzed(conn, 20000)
        await _analyze(engine)
        for _ in range(12):  # one connection: a pool of 1 used by one task at a time
            async with engine.connect() as conn:
                page = await conn.run_sync(page_reads.queue_page_sync, "care", statuses=("new",), limit=51)
            assert [i.id for i in page] == list(range(oldest, oldest + 51))
        generic, custom = await _plans(engine, "WITH page AS")
    finally:
        await engine.dispose()
    assert custom <= 5 and generic >= 7, (generic, custom)


async def test_a_claim_is_planned_once_per_connection_not_per_claim(pg_db_url: str) -> None:
    """The claim statement's LIMIT 1 is in its text, as the queue page's are: PostgreSQL keeps its
    generic plan instead of planning every claim (about 1 ms of planning per claim)."""
    from inbox.storage.repo import accounts, claims
    engine = create_engine(pg_db_url, pool_size=1)
    now = datetime(2026, 12, 6, tzinfo=UTC)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            oldest = await _queue_never_analyzed(conn, 20000)
            user = await accounts.add_user("ann", "agent", ["care"], None, conn=conn, now=now, capacity=100)
        await _analyze(engine)
        got = []
        for _ in range(12):
            async with claims.connection(engine) as tx:
                claim = await claims.claim_next("care", tx=tx, user_id=user.id, actor="ann", capacity=100,
                                                owner="test", now=now, lease_until=now + timedelta(minutes=30))
            assert claim.item is not None
            got.append(claim.item.id)
        generic, custom = await _plans(engine, "WITH held AS")
    finally:
        await engine.dispose()
    assert got == list(range(oldest, oldest + 12))
    assert custom <= 5 and generic >= 7, (generic, custom)
