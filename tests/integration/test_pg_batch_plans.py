"""On PostgreSQL a prepared statement's generic plan, once chosen, is kept for the connection's
life: chosen while the mention table is nearly empty (or never analyzed, as with autovacuum off) it
stays a sequential scan when the table holds millions. The ingest's duplicate lookup is planned for
its actual arguments every time instead."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from inbox import migrate
from inbox.db import create_engine
from inbox.repo import mentions


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
