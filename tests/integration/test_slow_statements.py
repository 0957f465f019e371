"""``db_slow_statement``: a statement slower than the threshold is logged with its duration and its
text (never its parameters), on SQLite and PostgreSQL; faster statements are not."""
from __future__ import annotations

from sqlalchemy import text
from structlog.testing import capture_logs

from inbox.storage.engine import create_engine

# a recursive count: a few hundred thousand steps, milliseconds on either database
_SLOW = text("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < :top) "
             "SELECT count(*) FROM c")


async def test_slow_statement_is_logged(db_url: str) -> None:
    engine = create_engine(db_url, slow_ms=1)
    try:
        with capture_logs() as logs:
            async with engine.connect() as conn:
                assert (await conn.execute(_SLOW, {"top": 300_000})).scalar() == 300_000
        slow = [e for e in logs if e["event"] == "db_slow_statement" and "RECURSIVE" in e["statement"]]
        assert len(slow) == 1
        assert slow[0]["ms"] >= 1 and slow[0]["log_level"] == "warning"
        assert "300000" not in slow[0]["statement"]  # the parameters stay out of the log
    finally:
        await engine.dispose()


async def test_threshold_and_off(db_url: str) -> None:
    for slow_ms in (60_000, 0):  # far above the statement's time; and logging off
        engine = create_engine(db_url, slow_ms=slow_ms)
        try:
            with capture_logs() as logs:
                async with engine.connect() as conn:
                    await conn.execute(_SLOW, {"top": 300_000})
            assert [e for e in logs if e["event"] == "db_slow_statement"] == []
        finally:
            await engine.dispose()
