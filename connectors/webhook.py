"""Inbound webhooks (forms, review sites, anything that can POST JSON). Nothing is polled.

The inbox's ``POST /api/v1/ingest/{connector}`` reads the **raw** body and calls
:meth:`WebhookConnector.receive` (or the two pure functions below):

1. :func:`verify_signature` - headers ``X-Inbox-Timestamp: <unix seconds>`` and
   ``X-Inbox-Signature: sha256=<hex>`` where the hex is
   ``HMAC-SHA256(secret, f"{timestamp}.".encode() + body)``; compared in constant time; a
   timestamp more than 5 minutes away from now is refused (replay window). With
   ``options.signature = "typeform"`` the Typeform scheme is accepted instead:
   ``Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, body)>`` (no timestamp: replays are
   absorbed by the idempotent ``event_id``).
2. :func:`parse_webhook_payload` - a JSON object or a list of objects with ``text`` (required),
   ``id``, ``author``, ``url``, ``created_at`` (ISO 8601), ``lang``; or a Typeform
   ``form_response``. Malformed items become :class:`Reject` with their position; the rest go on.

Settings: ``secret_env`` (required) names the variable holding the shared secret.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from .base import Mention, PollResult, Reject
from .config import ConnectorSettings
from .errors import ConfigError, SignatureError
from .http import HttpClient, utcnow
from .normalize import ItemError, dump_raw, parse_datetime, parse_items, require_text

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "REPLAY_WINDOW_SECONDS",
    "sign",
    "verify_signature",
    "parse_webhook_payload",
    "typeform_to_mention",
    "WebhookConnector",
]

SIGNATURE_HEADER = "X-Inbox-Signature"
TIMESTAMP_HEADER = "X-Inbox-Timestamp"
TYPEFORM_HEADER = "Typeform-Signature"
REPLAY_WINDOW_SECONDS = 300


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Inbox-Signature`` value for ``body`` sent at ``timestamp`` (for senders and tests)."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value: str | None = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def verify_signature(
    secret: bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: datetime,
    scheme: str = "inbox",
    window_seconds: int = REPLAY_WINDOW_SECONDS,
) -> None:
    """Return None when the delivery is authentic and fresh; raise :class:`SignatureError` otherwise."""
    if not secret:
        raise SignatureError("no webhook secret configured")
    if scheme == "typeform":
        typeform = _header(headers, TYPEFORM_HEADER) or ""
        digest = "sha256=" + base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(typeform.encode(), digest.encode()):
            raise SignatureError("bad or missing Typeform-Signature")
        return
    given = _header(headers, SIGNATURE_HEADER)
    stamp = _header(headers, TIMESTAMP_HEADER)
    if not given or not stamp:
        raise SignatureError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    try:
        timestamp = int(stamp.strip())
    except ValueError as exc:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not unix seconds") from exc
    expected = sign(secret, body, timestamp)
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise SignatureError("signature does not match")
    if abs(now.timestamp() - timestamp) > window_seconds:
        raise SignatureError("timestamp outside the replay window")


def _answer_text(answer: dict[str, Any]) -> str:
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return str(value.get("label") or value.get("other") or "")
    if kind == "choices" and isinstance(value, dict):
        return ", ".join(str(v) for v in value.get("labels") or [])
    return "" if value is None else str(value)


def typeform_to_mention(delivery: dict[str, Any], *, source: str) -> Mention:
    """A Typeform ``form_response`` delivery → :class:`Mention` (answers in question order)."""
    response = delivery["form_response"]
    if not isinstance(response, dict):
        raise ItemError("form_response must be an object")
    titles = {f.get("id"): f.get("title") for f in (response.get("definition") or {}).get("fields") or []}
    lines = []
    for answer in response.get("answers") or []:
        text = _answer_text(answer)
        title = titles.get((answer.get("field") or {}).get("id"))
        if text:
            lines.append(f"{title}: {text}" if title else text)
    event_id = delivery.get("event_id") or response.get("token")
    if not event_id:
        raise ItemError("missing event_id")
    return Mention(
        source=source,
        platform="webhook",
        external_id=str(event_id),
        text=require_text("\n".join(lines)),
        created_at=parse_datetime(response.get("submitted_at")),
        thread_id=response.get("form_id"),
        raw=delivery,
    )


def _item_to_mention(item: Any, *, source: str) -> Mention:
    if not isinstance(item, dict):
        raise ItemError(f"expected an object, got {type(item).__name__}")
    if "form_response" in item:
        return typeform_to_mention(item, source=source)
    text = item.get("text")
    if not isinstance(text, str):
        raise ItemError("missing 'text'")
    item_id = item.get("id") or item.get("external_id")
    if item_id is None:
        canonical = json.dumps(item, sort_keys=True, ensure_ascii=False).encode()
        item_id = "sha256:" + hashlib.sha256(canonical).hexdigest()[:32]
    author = item.get("author")
    lang = item.get("lang") or item.get("language")
    return Mention(
        source=source,
        platform="webhook",
        external_id=str(item_id),
        text=require_text(" ".join(text.split())),
        url=item.get("url") if isinstance(item.get("url"), str) else None,
        author_handle=str(author) if author else None,
        author_name=str(author) if author else None,
        language=str(lang) if lang else None,
        created_at=parse_datetime(item.get("created_at")),
        raw=item,
    )


def parse_webhook_payload(body: bytes, *, source: str) -> tuple[list[Mention], list[Reject]]:
    """Raw body → (mentions, rejects). Invalid JSON is a single reject of the whole body."""
    try:
        payload = json.loads(body)
    except RecursionError:  # nested deeper than the parser's recursion limit
        return [], [Reject(source=source, reason="invalid JSON: nested too deeply", raw=dump_raw(body[:100_000]))]
    except (ValueError, UnicodeDecodeError) as exc:
        return [], [Reject(source=source, reason=f"invalid JSON: {exc}", raw=dump_raw(body[:100_000]))]
    items = payload if isinstance(payload, list) else [payload]
    return parse_items(items, source, lambda item: _item_to_mention(item, source=source))


class WebhookConnector:
    """A pushed source. ``poll`` returns nothing; deliveries go through :meth:`receive`."""

    type: ClassVar[str] = "webhook"

    def __init__(self, settings: ConnectorSettings, http: HttpClient | None = None, *, env: Mapping[str, str]) -> None:
        if settings.type != "webhook":
            raise ValueError(f"WebhookConnector cannot run a {settings.type} connector")
        secret = env.get(settings.secret_env or "")
        if not secret:
            raise ConfigError(f"environment variable {settings.secret_env} (webhook secret) is not set",
                              connector=settings.name)
        self.settings = settings
        self.name = settings.name
        self._secret = secret.encode()
        self.scheme = str(settings.options.get("signature", "inbox"))
        if self.scheme not in ("inbox", "typeform"):
            raise ConfigError(f"unknown signature scheme {self.scheme!r}", connector=settings.name)
        self._clock = http.clock if http else utcnow

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        """Webhooks are pushed: a poll finds nothing and keeps no cursor."""
        return PollResult(mentions=[], cursor={})

    def receive(self, body: bytes, headers: Mapping[str, str]) -> tuple[list[Mention], list[Reject]]:
        """Verify the delivery (raises :class:`SignatureError` → answer 401) and parse it."""
        verify_signature(self._secret, body, headers, now=self._clock(), scheme=self.scheme)
        return parse_webhook_payload(body, source=self.name)
