"""Alembic migrations run on both back ends, are idempotent and reversible."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect

from inbox.storage import migrate
from inbox.storage.engine import create_engine


async def _indexes(engine: Any, table: str) -> dict[str, list[str]]:
    """The table's indexes: name -> column names."""
    async with engine.connect() as conn:
        found = await conn.run_sync(lambda c: inspect(c).get_indexes(table))
    return {ix["name"]: list(ix["column_names"]) for ix in found}


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


async def test_0003_adds_the_thread_index(db_url: str) -> None:
    """Revision 0003 adds mention (source, thread_id) for the item page's thread lookup; downgrading
    to 0002 removes it."""
    engine = create_engine(db_url)
    try:
        await migrate.upgrade(engine)
        assert (await _indexes(engine, "mention")).get("ix_mention_source_thread") == ["source", "thread_id"]
        await migrate.downgrade(engine, "0002")
        assert "ix_mention_source_thread" not in await _indexes(engine, "mention")
        await migrate.upgrade(engine)
        assert "ix_mention_source_thread" in await _indexes(engine, "mention")
    finally:
        await engine.dispose()


async def test_0004_adds_refined_at_and_its_index(db_url: str) -> None:
    """Revision 0004 adds queue_item.refined_at and the refiner's candidate index; downgrading to 0003
    removes both."""
    engine = create_engine(db_url)

    async def item_schema() -> tuple[set[str], dict[str, list[str]]]:
        async with engine.connect() as conn:
            cols = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("queue_item")})
        return cols, await _indexes(engine, "queue_item")
    try:
        await migrate.upgrade(engine)
        cols, indexes = await item_schema()
        assert "refined_at" in cols
        assert indexes.get("ix_queue_item_refine") == ["confidence", "id"]
        await migrate.downgrade(engine, "0003")
        cols, indexes = await item_schema()
        assert "refined_at" not in cols and "ix_queue_item_refine" not in indexes
    finally:
        await engine.dispose()


async def test_0005_replaces_the_decision_lookup_index(db_url: str) -> None:
    """Revision 0005 replaces routing_decision (mention_id) with (mention_id, id); downgrading to
    0004 puts the old index back."""
    engine = create_engine(db_url)
    try:
        await migrate.upgrade(engine)
        indexes = await _indexes(engine, "routing_decision")
        assert indexes.get("ix_routing_decision_mention") == ["mention_id", "id"]
        assert "ix_routing_decision_mention_id" not in indexes
        await migrate.downgrade(engine, "0004")
        indexes = await _indexes(engine, "routing_decision")
        assert indexes.get("ix_routing_decision_mention_id") == ["mention_id"]
        assert "ix_routing_decision_mention" not in indexes
    finally:
        await engine.dispose()


async def test_0006_adds_the_claim_lock_function_on_postgres(pg_db_url: str) -> None:
    """Revision 0006 creates inbox_lock_open_claims on PostgreSQL (the claim statement calls it);
    downgrading to 0005 drops it."""
    from sqlalchemy import text
    engine = create_engine(pg_db_url)

    async def functions() -> set[str]:
        async with engine.connect() as conn:
            return set((await conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'inbox_%'"))).scalars())
    try:
        await migrate.upgrade(engine)
        assert await functions() == {"inbox_lock_open_claims"}
        await migrate.downgrade(engine, "0005")
        assert await functions() == set()
        await migrate.upgrade(engine)
        assert await functions() == {"inbox_lock_open_claims"}
    finally:
        await engine.dispose()


async def test_0007_replaces_the_event_lookup_index(db_url: str) -> None:
    """Revision 0007 replaces event (item_id) with (item_id, id); downgrading to 0006 puts the old
    index back."""
    engine = create_engine(db_url)
    try:
        await migrate.upgrade(engine)
        indexes = await _indexes(engine, "event")
        assert indexes.get("ix_event_item") == ["item_id", "id"] and "ix_event_item_id" not in indexes
        await migrate.downgrade(engine, "0006")
        indexes = await _indexes(engine, "event")
        assert indexes.get("ix_event_item_id") == ["item_id"] and "ix_event_item" not in indexes
    finally:
        await engine.dispose()


async def test_0022_adds_the_context_post_table(db_url: str) -> None:
    """Revision 0022 adds context_post (unique per source and external id, an author index);
    downgrading to 0021 removes it, upgrading again puts it back."""
    engine = create_engine(db_url)

    async def table_names() -> set[str]:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    try:
        await migrate.upgrade(engine)
        assert "context_post" in await table_names()
        assert (await _indexes(engine, "context_post")).get("ix_context_post_author") == ["author_handle"]
        async with engine.connect() as conn:
            uniques = await conn.run_sync(lambda c: inspect(c).get_unique_constraints("context_post"))
        assert [u["column_names"] for u in uniques] == [["source", "external_id"]]
        await migrate.downgrade(engine, "0021")
        assert "context_post" not in await table_names()
        await migrate.upgrade(engine)
        assert "context_post" in await table_names()
    finally:
        await engine.dispose()


async def _index_names(engine: Any, table: str) -> set[str]:
    """Every index of the table by name, expression indexes included (which SQLAlchemy's SQLite
    reflection skips)."""
    from sqlalchemy import text
    sql = ("SELECT indexname FROM pg_indexes WHERE tablename = :t" if engine.dialect.name == "postgresql"
           else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t")
    async with engine.connect() as conn:
        return {r[0] for r in await conn.execute(text(sql), {"t": table})}


async def test_0023_orders_an_author_s_mentions_by_when_they_were_posted(db_url: str) -> None:
    """Revision 0023 replaces mention (source, author_handle, id) with (source, author_handle,
    coalesce(created_at, fetched_at), id); downgrading to 0022 puts the old one back."""
    engine = create_engine(db_url)
    try:
        await migrate.upgrade(engine)
        found = await _index_names(engine, "mention")
        assert "ix_mention_author_posted" in found and "ix_mention_source_author" not in found
        await migrate.downgrade(engine, "0022")
        found = await _index_names(engine, "mention")
        assert "ix_mention_author_posted" not in found
        assert (await _indexes(engine, "mention")).get("ix_mention_source_author") == ["source", "author_handle", "id"]
        await migrate.upgrade(engine)
        assert "ix_mention_author_posted" in await _index_names(engine, "mention")
    finally:
        await engine.dispose()


async def test_0024_gives_the_sqlite_search_index_prefix_indexes(db_url: str) -> None:
    """Revision 0024 makes ``mention_fts`` again with prefix indexes (2, 3 and 4 characters) and
    fills it from the mentions already stored; the triggers keep writing it; downgrading to 0023
    makes it without them, filled again. PostgreSQL keeps its tsvector column as it was."""
    from sqlalchemy import text
    engine = create_engine(db_url)
    pg = engine.dialect.name == "postgresql"

    async def table_sql() -> str:
        async with engine.connect() as conn:
            return str((await conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'mention_fts'"))).scalar())

    async def matches(word: str) -> list[int]:
        sql = ("SELECT id FROM mention WHERE search_vector @@ to_tsquery('inbox_search', :w) ORDER BY id" if pg
               else "SELECT rowid FROM mention_fts WHERE mention_fts MATCH :w ORDER BY rowid")
        async with engine.connect() as conn:
            return [r[0] for r in await conn.execute(text(sql), {"w": word.replace("*", ":*") if pg else word})]

    async def add(i: int, body: str) -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO mention (id, source, platform, external_id, text, deleted, is_repost, "
                                    "fetched_at) VALUES (:i, 's', 'p', :e, :b, false, false, :at)"),
                               {"i": i, "e": f"e{i}", "b": body, "at": datetime(2026, 12, 6, tzinfo=UTC)})
    try:
        await migrate.upgrade(engine, "0023")
        await add(1, "Rimborso per l'ordine")
        await migrate.upgrade(engine)
        if not pg:
            assert "prefix='2 3 4'" in await table_sql()
        await add(2, "refund for my order")
        assert await matches("rimb*") == [1] and await matches("ord*") == [1, 2] and await matches("refund") == [2]
        await migrate.downgrade(engine, "0023")
        if not pg:
            assert "prefix" not in await table_sql()
        assert await matches("ord*") == [1, 2]
    finally:
        await engine.dispose()
