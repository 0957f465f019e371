"""UTCDateTime binds the same text or value whether a value is new or repeated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from inbox.storage.column_types import UTCDateTime


def test_repeated_and_new_values_bind_alike() -> None:
    col = UTCDateTime()
    lite, pg = sqlite.dialect(), postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's own __init__
    now = datetime(2026, 12, 6, 3, 4, 5, 6, tzinfo=UTC)
    rome = now.astimezone(timezone(timedelta(hours=1)))
    for _ in range(2):
        assert col.process_bind_param(now, lite) == "2026-12-06 03:04:05.000006"
        assert col.process_bind_param(rome, lite) == "2026-12-06 03:04:05.000006"
        assert col.process_bind_param(now, pg) == now
        assert col.process_bind_param(rome, pg) == now
        assert col.process_bind_param(None, lite) is None
    with pytest.raises(ValueError, match="naive"):
        col.process_bind_param(now.replace(tzinfo=None), lite)
    assert col.process_bind_param(now, lite) == "2026-12-06 03:04:05.000006"
    later = now + timedelta(seconds=1)
    assert col.process_bind_param(later, lite) == "2026-12-06 03:04:06.000006"


def test_read_values_come_back_in_utc() -> None:
    col = UTCDateTime()
    lite, pg = sqlite.dialect(), postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's own __init__
    now = datetime(2026, 12, 6, 3, 4, 5, 6, tzinfo=UTC)
    assert col.process_result_value(now, pg) is now  # already UTC (asyncpg's timestamptz): as it is
    rome = col.process_result_value(now.astimezone(timezone(timedelta(hours=1))), pg)
    assert rome == now and rome is not None and rome.tzinfo is UTC
    text = col.process_result_value("2026-12-06 03:04:05.000006", lite)
    assert text == now and text is not None and text.tzinfo is UTC
    whole = col.process_result_value("2026-12-06 03:04:05", lite)  # SQLite's CURRENT_TIMESTAMP layout
    assert whole == now.replace(microsecond=0) and whole is not None and whole.tzinfo is UTC
    rome_text = col.process_result_value("2026-12-06 04:04:05.000006+01:00", lite)  # text with its own offset
    assert rome_text == now and rome_text is not None and rome_text.tzinfo is UTC
    assert col.process_result_value(now.replace(tzinfo=None), lite) == now
    assert col.process_result_value(None, pg) is None
