"""``db.reader``: read-only work shares the engine's pool but takes no write lock on SQLite (so
page views never wait for ingest or claims) and no transaction round trips on PostgreSQL."""
from __future__ import annotations

from sqlalchemy import text

from inbox.storage import migrate
from inbox.storage.engine import create_engine, reader


async def test_reader_reads_while_a_writer_holds_the_lock(db_url: str) -> None:
    """While a write transaction is open, a reader connection reads committed rows at once."""
    engine = create_engine(db_url)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as w:
            await w.execute(text("INSERT INTO team (name, display_name, private) VALUES ('t1', 'T1', false)"))
        async with engine.begin() as w:
            # BEGIN IMMEDIATE on SQLite: the write lock is held until this block ends
            await w.execute(text("UPDATE team SET display_name = 'T1b' WHERE name = 't1'"))

            async def read() -> str:
                async with reader(engine).connect() as r:
                    return str((await r.execute(text("SELECT display_name FROM team WHERE name = 't1'"))).scalar_one())
            assert await read() == "T1"  # without reader: SQLite waits out busy_timeout, then fails
        assert reader(engine) is reader(engine)
    finally:
        await engine.dispose()


async def test_a_reader_sends_no_begin_and_a_snapshot_reader_one(db_url: str) -> None:
    """``reader`` opens no transaction (each statement its own snapshot: no BEGIN to send, on SQLite
    a trip to the driver's thread saved per connection); ``snapshot_reader`` reads in one
    transaction (SQLite: BEGIN, deferred)."""
    from inbox.storage.engine import snapshot_reader
    from tests.conftest import sent_statements
    engine = create_engine(db_url)
    try:
        await migrate.upgrade(engine)
        with sent_statements(engine, "BEGIN") as begins:
            async with reader(engine).connect() as r:
                assert (await r.execute(text("SELECT count(*) FROM team"))).scalar_one() >= 0
            assert begins == []
            async with snapshot_reader(engine).connect() as r:
                await r.execute(text("SELECT count(*) FROM team"))
                await r.execute(text("SELECT count(*) FROM team"))
        if engine.dialect.name == "sqlite":
            assert [s.strip().upper() for s, _ in begins] == ["BEGIN"]
    finally:
        await engine.dispose()


async def test_read_conn_reads_outside_a_transaction_and_hands_its_connection_back_as_it_was(db_url: str) -> None:
    """``read_conn``: no BEGIN, no write lock; on PostgreSQL autocommit set on the checked-out
    connection itself, and the pooled connection back at the engine's isolation level after."""
    from inbox.storage.engine import read_conn
    from tests.conftest import sent_statements
    engine = create_engine(db_url, pool_size=1)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as w:
            await w.execute(text("INSERT INTO team (name, display_name, private) VALUES ('t1', 'T1', false)"))
        with sent_statements(engine, "BEGIN") as begins:
            async with engine.begin() as w:  # holds the write lock on SQLite
                await w.execute(text("UPDATE team SET display_name = 'T1b' WHERE name = 't1'"))
                async with read_conn(engine) as r:
                    assert (await r.execute(text("SELECT display_name FROM team WHERE name = 't1'"))).scalar_one() \
                        == "T1"
                    if engine.dialect.name == "postgresql":  # each statement its own transaction
                        first = (await r.execute(text("SELECT now() FROM pg_sleep(0.01)"))).scalar_one()
                        assert (await r.execute(text("SELECT now()"))).scalar_one() > first
            writes = list(begins)
        assert len(writes) == (1 if engine.dialect.name == "sqlite" else 0)  # the writer's BEGIN IMMEDIATE only
        async with read_conn(engine) as r:  # the pool's one idle connection ...
            await r.execute(text("SELECT 1"))
        async with engine.connect() as c:  # ... back at the engine's level: in a transaction
            await c.execute(text("UPDATE team SET display_name = 'T1c' WHERE name = 't1'"))
            await c.rollback()
        async with read_conn(engine) as r:
            assert (await r.execute(text("SELECT display_name FROM team WHERE name = 't1'"))).scalar_one() == "T1b"
    finally:
        await engine.dispose()
