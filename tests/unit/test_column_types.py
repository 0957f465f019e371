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
