"""Alembic migrations run on both back ends, are idempotent and reversible."""
from __future__ import annotations

from sqlalchemy import inspect

from inbox import migrate
from inbox.db import create_engine


async def test_upgrade_twice_downgrade_and_upgrade_again(db_url: str) -> None:
    """init is safe to run twice; the schema goes down to base and back up to head."""
    engine = create_engine(db_url)
    try:
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"mention", "queue_item", "routing_decision", "event", "team", "user_account", "api_token",
                "connector_state", "dead_letter", "model_version", "correction"} <= tables
        await migrate.downgrade(engine, "base")
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()
