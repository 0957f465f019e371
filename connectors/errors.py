"""Every failure a connector raises. One base, :class:`ConnectorError`::

    ConnectorError(Exception)                 base: carries connector, url, status
    ├── TransientError                        retryable: 5xx, network error, timeout, truncated body
    │   └── RateLimited                       429 / exhausted budget; ``retry_at`` says when to retry
    ├── PermanentError                        4xx other than 429: config or auth bug, deleted item;
    │   │                                     not retried; the inbox marks the connector unhealthy
    │   ├── ConfigError(ValueError)           settings that cannot work (missing secret, bad URL)
    │   ├── BlockedAddress                    SSRF guard: a private/loopback/metadata address
    │   └── SignatureError                    webhook signature missing, wrong or stale
    └── PayloadError(ValueError)              the platform answered something we cannot use:
                                              invalid JSON, oversized body, a repeated page token

``TransientError`` and ``RateLimited`` mean "try again later, nothing was lost"; the others mean
"this will fail again until someone changes something".
"""
from __future__ import annotations

from datetime import datetime

__all__ = [
    "ConnectorError",
    "TransientError",
    "RateLimited",
    "PermanentError",
    "ConfigError",
    "BlockedAddress",
    "SignatureError",
    "PayloadError",
]


class ConnectorError(Exception):
    """Base of every connector failure, with the context needed to log and diagnose it."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        connector: str | None = None,
        url: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.connector = connector
        self.url = url
        self.status = status

    def __str__(self) -> str:
        parts = [self.message]
        if self.connector:
            parts.append(f"connector={self.connector}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.url:
            parts.append(f"url={self.url}")
        return " ".join(parts)


class TransientError(ConnectorError):
    """A failure that may go away on retry: 5xx, network error, timeout, truncated body."""

    kind = "transient"


class RateLimited(TransientError):
    """The platform asked us to wait; no request may be sent to it before ``retry_at``."""

    kind = "rate_limited"

    def __init__(self, message: str, *, retry_at: datetime, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]  # context is the base kwargs
        self.retry_at = retry_at


class PermanentError(ConnectorError):
    """A 4xx (not 429) or a configuration/auth problem: retrying will not help."""

    kind = "permanent"


class ConfigError(PermanentError, ValueError):
    """The connector's settings cannot work (missing secret, unsupported option)."""

    kind = "config"


class BlockedAddress(PermanentError):
    """The SSRF guard refused a URL: it resolves to a private, loopback or metadata address."""

    kind = "blocked"


class SignatureError(PermanentError):
    """A webhook delivery whose signature is missing, wrong or outside the replay window."""

    kind = "signature"


class PayloadError(ConnectorError, ValueError):
    """The response cannot be used: invalid JSON, oversized body, repeated page token."""

    kind = "payload"
