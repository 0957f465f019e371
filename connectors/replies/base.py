"""What every platform's reply writer shares: the target of a reply, the answer, the one-attempt
HTTP policy and the platform's reason for a refusal.

A writer sends ONE attempt per call (``HttpScope`` with ``max_attempts=1``): the retries, their
back-off and ``Retry-After`` belong to the outbox (inbox.work.reply_sender), which records every
attempt in the database. What an attempt raises tells the outbox what happened:

- :class:`~connectors.errors.RateLimited` (429, or 503 with ``Retry-After``): not delivered, try
  again at ``retry_at``;
- :class:`~connectors.errors.TransientError` with a status (other 5xx): the platform may have
  written the post before failing, so the outbox looks before it sends again; without a status
  (timeout, connection lost after the request) the same;
- :class:`~connectors.errors.PermanentError` (other 4xx, or a refusal inside a 200 such as
  Reddit's ``json.errors``): not delivered and never retried; ``message`` is the platform's reason.

Credentials are read from the environment variable the connector names (``reply_token_env``) at
each attempt and are never logged, stored or put in an error message.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from ..config import ConnectorSettings
from ..errors import ConfigError, ConnectorError, PermanentError, RateLimited
from ..http import HttpClient, HttpResponse, HttpScope
from ..ratelimit import parse_rate_limit, parse_retry_after

__all__ = ["ReplyTarget", "Posted", "ReplyWriter", "platform_reason", "same_text", "ONE_ATTEMPT_TIMEOUT"]

ONE_ATTEMPT_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """One reply to send: the parent as the platform knows it, the text, and the outbox's key.

    ``parent_id`` is the id the write API takes (Mastodon: the status id on the polled instance;
    Bluesky: the post's ``at://`` uri; Reddit: the fullname; X: the tweet id; YouTube: the
    comment id). ``parent`` holds what else the platform needs (Bluesky: ``cid``, ``root_uri``,
    ``root_cid``)."""

    parent_id: str
    text: str
    key: str
    parent: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Posted:
    """The platform's own id (and link) of a delivered reply."""

    external_id: str
    url: str | None = None


def platform_reason(response: HttpResponse) -> str:
    """The refusal's reason as the platform words it (a JSON error field), else the status and
    the start of the body; at most 300 characters."""
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    found: list[str] = []
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):  # YouTube / Google
            found.append(str(err.get("message") or ""))
        for key in ("detail", "message", "error_description", "error", "title"):
            value = data.get(key)
            if isinstance(value, str) and value and value not in found:
                found.append(value)
        for item in data.get("errors") or []:  # X v2
            if isinstance(item, dict) and item.get("message"):
                found.append(str(item["message"]))
    reason = "; ".join(x for x in found if x)
    if not reason:
        reason = " ".join(response.body[:200].decode("utf-8", errors="replace").split()) or "no reason given"
    return f"HTTP {response.status}: {reason}"[:300]


def same_text(a: str | None, b: str) -> bool:
    """Whether a post found on the platform carries our text (white space collapsed)."""
    return a is not None and " ".join(a.split()) == " ".join(b.split())


class ReplyWriter:
    """Base of the five writers: one HTTP scope, the credential, one attempt per request."""

    platform: ClassVar[str] = ""
    idempotent: ClassVar[bool] = False
    """True when the platform de-duplicates a repeated request itself (an idempotency key)."""

    def __init__(self, settings: ConnectorSettings, http: HttpClient, *, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.env = env
        self.base = settings.base()
        self.http: HttpScope = http.scope(f"{settings.name}:reply", allow_private_hosts=settings.allow_private_hosts,
                                          timeout=min(settings.timeout, ONE_ATTEMPT_TIMEOUT))

    # credentials ---------------------------------------------------------------------------------
    def credential(self) -> str:
        """The write credential, or ConfigError naming the variable (never its value)."""
        name = self.settings.reply_token_env
        if not name:
            raise ConfigError(f"connector {self.settings.name!r} has no reply_token_env: it does not take replies")
        value = self.env.get(name)
        if not value:
            raise ConfigError(f"the credential variable {name} is not set")
        return value

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential()}"}

    # one attempt ---------------------------------------------------------------------------------
    async def post(self, url: str, *, headers: Mapping[str, str], json_body: Any = None,
                   data: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None) -> HttpResponse:
        body: bytes | None = None
        if data is not None:  # a form, encoded here: aiohttp's FormData costs more than the rest of the request
            body = urlencode(data).encode()
            headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        return await self.http.request("POST", url, headers=headers, json_body=json_body, data=body, params=params,
                                       classify=self._classify, decode=json.loads)

    async def get(self, url: str, *, headers: Mapping[str, str], params: Mapping[str, str] | None = None) -> Any:
        response = await self.http.request("GET", url, headers=headers, params=params, classify=self._classify,
                                           decode=json.loads)
        return response.json()

    def _classify(self, response: HttpResponse) -> ConnectorError | None:
        now = self.http.now()
        if response.status == 429 or (response.status == 503 and response.headers.get("Retry-After")):
            retry_at = parse_retry_after(response.headers.get("Retry-After"), now)
            info = parse_rate_limit(response.headers, now)
            candidates = [t for t in (retry_at, info.reset_at if info else None) if t is not None]
            return RateLimited(platform_reason(response), retry_at=max(candidates) if candidates
                               else now + timedelta(seconds=30), status=response.status)
        if 400 <= response.status < 500:
            return PermanentError(platform_reason(response), status=response.status)
        return None  # 5xx: the scope raises TransientError (one attempt)

    # the platform's part -------------------------------------------------------------------------
    async def send(self, target: ReplyTarget) -> Posted:
        """Deliver ``target`` once (see the module docstring for what each failure means)."""
        raise NotImplementedError

    async def find_sent(self, target: ReplyTarget, since: datetime) -> Posted | None:
        """Our own reply to ``target.parent_id`` with ``target.text`` posted since ``since``, if the
        platform shows one (after a crash: was the request delivered?)."""
        raise NotImplementedError
