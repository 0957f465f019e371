"""The back-off of a failing source: its interval, then doubling, capped, never under the interval."""
from __future__ import annotations

from datetime import timedelta

from inbox.domain.poll_backoff import PERMANENT_CAP, TRANSIENT_CAP, retry_delay

MIN = timedelta(minutes=1)


def test_first_failure_waits_one_interval_then_doubles() -> None:
    assert [retry_delay(MIN, n, permanent=False) for n in (0, 1, 2, 3, 4)] == [MIN, MIN, 2 * MIN, 4 * MIN, 8 * MIN]


def test_transient_and_permanent_caps() -> None:
    assert retry_delay(MIN, 50, permanent=False) == TRANSIENT_CAP
    assert retry_delay(MIN, 50, permanent=True) == PERMANENT_CAP
    assert retry_delay(MIN, 5, permanent=False) == 15 * MIN  # 16 minutes, capped


def test_a_long_interval_is_never_shortened() -> None:
    day = timedelta(days=1)
    assert retry_delay(day, 1, permanent=False) == day
    assert retry_delay(day, 9, permanent=True) == day
