"""The value types of connectors.http: the clock and sleep it is given, its retry policy, the
statistics it keeps per connector and the responses it returns."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from multidict import CIMultiDictProxy

from .errors import ConnectorError, PayloadError

__all__ = ["Clock", "Sleep", "Classifier", "utcnow", "RetryPolicy", "HttpStats", "HttpResponse"]

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
Classifier = Callable[["HttpResponse"], "ConnectorError | Literal['retry'] | None"]
"""Looks at an error response first: an exception to raise, ``"retry"`` to treat it as
transient, or None for the default handling."""

def utcnow() -> datetime:
    """The real clock: an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry and pacing knobs (seconds). The defaults follow shared/docs/connectors.md §0.5."""

    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 900.0
    max_wait: float = 120.0
    reset_jitter: float = 1.0
    low_budget: float = 1.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 300.0


@dataclass(slots=True)
class HttpStats:
    """What one connector's requests did, for health pages and the poll summary."""

    requests: int = 0
    retries: int = 0
    last_status: int | None = None
    last_error: str | None = None
    last_request_at: datetime | None = None
    rate_limit_remaining: float | None = None
    rate_limit_reset: datetime | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A fully read response."""

    status: int
    url: str
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or :class:`PayloadError`."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurd nesting
            raise PayloadError(f"invalid JSON: {exc}", url=self.url, status=self.status) from exc

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")
