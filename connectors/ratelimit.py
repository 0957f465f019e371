"""Reading rate-limit headers. Pure functions: headers and "now" in, aware datetimes out.

Header families (names are case-insensitive, so Mastodon's ``X-RateLimit-*`` and Reddit's
``X-Ratelimit-*`` are the same headers with different value formats):

=========  =========================  ==========================================
platform   header                     reset value
=========  =========================  ==========================================
Mastodon   ``X-RateLimit-Reset``      ISO 8601 timestamp
Reddit     ``X-Ratelimit-Reset``      seconds from now (``"364"``; remaining is ``"598.0"``)
Bluesky    ``RateLimit-Reset``        Unix epoch seconds
X          ``x-rate-limit-reset``     Unix epoch seconds
any        ``Retry-After``            delay in seconds or an HTTP-date
=========  =========================  ==========================================

A numeric reset is read as an epoch when it is larger than 10^9, otherwise as a delay.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["RateLimitInfo", "parse_retry_after", "parse_reset", "parse_rate_limit"]

_FAMILIES = (
    ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"),
    ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"),
    ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"),
)
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The budget a response reported: any of the three may be missing."""

    limit: float | None
    remaining: float | None
    reset_at: datetime | None


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        # plain dicts (tests, recorded headers) are not case-insensitive
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """``Retry-After: 120`` or ``Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`` → the time to wait for."""
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return now + timedelta(seconds=max(seconds, 0.0))
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when, now)


def parse_reset(value: str | None, now: datetime) -> datetime | None:
    """A reset header value (ISO 8601, epoch seconds, or seconds from now) → aware datetime."""
    if not value:
        return None
    number = _number(value)
    if number is not None:
        if number > _EPOCH_THRESHOLD:
            return datetime.fromtimestamp(number, UTC)
        return now + timedelta(seconds=max(number, 0.0))
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_rate_limit(headers: Mapping[str, str], now: datetime) -> RateLimitInfo | None:
    """The first header family present in ``headers``, or None when there is none."""
    for limit_name, remaining_name, reset_name in _FAMILIES:
        limit = _get(headers, limit_name)
        remaining = _get(headers, remaining_name)
        reset = _get(headers, reset_name)
        if limit is None and remaining is None and reset is None:
            continue
        return RateLimitInfo(_number(limit), _number(remaining), parse_reset(reset, now))
    return None
