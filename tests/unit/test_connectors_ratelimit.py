"""Rate-limit and Retry-After headers of every platform become aware datetimes."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.ratelimit import parse_rate_limit, parse_reset, parse_retry_after

NOW = datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)


def test_retry_after_seconds_and_http_date() -> None:
    """Retry-After accepts delta seconds and an HTTP-date; junk gives None."""
    assert parse_retry_after("4", NOW) == NOW + timedelta(seconds=4)
    assert parse_retry_after("Tue, 10 Mar 2026 12:00:30 GMT", NOW) == NOW + timedelta(seconds=30)
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None


def test_retry_after_date_in_past_is_now() -> None:
    """An HTTP-date in the past means 'now', never a negative wait."""
    assert parse_retry_after("Tue, 10 Mar 2026 11:00:00 GMT", NOW) == NOW


def test_mastodon_iso_reset() -> None:
    """Mastodon's X-RateLimit-Reset is ISO 8601 with microseconds."""
    info = parse_rate_limit({"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": "2026-03-10T12:05:00.348080Z"}, NOW)
    assert info is not None and info.remaining == 0
    assert info.reset_at == datetime(2026, 3, 10, 12, 5, 0, 348080, tzinfo=UTC)


def test_reddit_reset_is_seconds_from_now() -> None:
    """Reddit's X-Ratelimit-Reset counts seconds from now; remaining is a float string."""
    info = parse_rate_limit(
        {"x-ratelimit-remaining": "598.0", "x-ratelimit-reset": "364", "x-ratelimit-used": "2"}, NOW
    )
    assert info is not None and info.remaining == 598.0 and info.reset_at == NOW + timedelta(seconds=364)


def test_bluesky_and_x_resets_are_epochs() -> None:
    """Bluesky RateLimit-Reset and X x-rate-limit-reset are Unix epochs."""
    epoch = int((NOW + timedelta(minutes=2)).timestamp())
    bsky = parse_rate_limit({"RateLimit-Remaining": "2983", "RateLimit-Reset": str(epoch)}, NOW)
    x = parse_rate_limit({"x-rate-limit-remaining": "1", "x-rate-limit-reset": str(epoch)}, NOW)
    assert bsky is not None and x is not None
    assert bsky.reset_at == x.reset_at == NOW + timedelta(minutes=2)


def test_no_headers_no_info() -> None:
    """Without rate-limit headers there is nothing to report."""
    assert parse_rate_limit({"Content-Type": "application/json"}, NOW) is None
    assert parse_reset("garbage", NOW) is None
