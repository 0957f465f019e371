"""Webhook deliveries: HMAC verification with a replay window, then parsing."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.config import ConnectorSettings
from connectors.errors import ConfigError, SignatureError
from connectors.webhook import WebhookConnector, parse_webhook_payload, sign, verify_signature

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
SECRET = b"s3cret"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "connectors"


def signed(body: bytes, at: datetime = NOW, secret: bytes = SECRET) -> dict[str, str]:
    stamp = int(at.timestamp())
    return {"X-Inbox-Timestamp": str(stamp), "X-Inbox-Signature": sign(secret, body, stamp)}


def test_valid_signature_accepted() -> None:
    """A fresh delivery signed with the secret over timestamp.body passes."""
    body = b'{"text": "Lumetta"}'
    verify_signature(SECRET, body, signed(body), now=NOW)


@pytest.mark.parametrize("case", ["tampered", "wrong-secret", "missing", "stale", "future", "bad-stamp"])
def test_bad_deliveries_refused(case: str) -> None:
    """Tampered body, wrong secret, missing headers and out-of-window timestamps are refused."""
    body = b'{"text": "Lumetta"}'
    headers = signed(body)
    if case == "tampered":
        body = b'{"text": "Lumetta!"}'
    elif case == "wrong-secret":
        headers = signed(body, secret=b"other")
    elif case == "missing":
        headers = {}
    elif case == "stale":
        headers = signed(body, at=NOW - timedelta(minutes=6))
    elif case == "future":
        headers = signed(body, at=NOW + timedelta(minutes=6))
    else:
        headers["X-Inbox-Timestamp"] = "yesterday"
    with pytest.raises(SignatureError):
        verify_signature(SECRET, body, headers, now=NOW)


def test_typeform_scheme() -> None:
    """The Typeform scheme checks a base64 HMAC of the raw body."""
    import base64
    import hashlib
    import hmac

    body = (FIXTURES / "typeform_delivery.json").read_bytes()
    good = "sha256=" + base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
    verify_signature(SECRET, body, {"typeform-signature": good}, now=NOW, scheme="typeform")
    with pytest.raises(SignatureError):
        verify_signature(SECRET, body, {"Typeform-Signature": "sha256=AAAA"}, now=NOW, scheme="typeform")


def test_list_with_malformed_items() -> None:
    """A list is parsed item by item; bad items are rejects with their position, ids default to a hash."""
    body = json.dumps([
        {"id": "r1", "text": "  Lumetta   review ", "author": "ann", "url": "https://r.example/1",
         "created_at": "2026-03-01T10:00:00+01:00", "lang": "it"},
        {"text": "no id here"},
        {"id": "r3"},
        "not an object",
        {"id": "r5", "text": "bad date", "created_at": "last tuesday"},
    ]).encode()
    mentions, rejects = parse_webhook_payload(body, source="reviews")
    assert [m.external_id for m in mentions][0] == "r1" and mentions[1].external_id.startswith("sha256:")
    first = mentions[0]
    assert first.text == "Lumetta review" and first.language == "it" and first.platform == "webhook"
    assert first.created_at == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert [r.position for r in rejects] == [2, 3, 4]


def test_invalid_json_is_one_reject() -> None:
    """A body that is not JSON becomes one reject with the raw body."""
    mentions, rejects = parse_webhook_payload(b"{nope", source="reviews")
    assert not mentions and len(rejects) == 1 and rejects[0].raw == "{nope"


def test_typeform_form_response() -> None:
    """A Typeform delivery becomes one mention keyed by event_id with answers in question order."""
    mentions, rejects = parse_webhook_payload((FIXTURES / "typeform_delivery.json").read_bytes(), source="forms")
    assert not rejects
    mention = mentions[0]
    assert mention.external_id == "01HLUMETTA0000000000000001" and mention.thread_id == "LmTfrm"
    assert mention.text.splitlines() == [
        "Which product?: Lumetta Aria", "What happened?: The steam wand leaks.",
        "Topics: repair, warranty", "Would you recommend us?: False",
    ]


def test_connector_receive_and_missing_secret() -> None:
    """WebhookConnector verifies with its env secret; a missing secret is a ConfigError."""
    settings = ConnectorSettings.model_validate({"name": "forms", "type": "webhook", "secret_env": "FORMS_SECRET"})
    with pytest.raises(ConfigError):
        WebhookConnector(settings, None, env={})
    connector = WebhookConnector(settings, None, env={"FORMS_SECRET": "s3cret"})
    body = b'{"id": "1", "text": "Lumetta"}'
    now = datetime.now(UTC)
    mentions, _ = connector.receive(body, signed(body, at=now))
    assert mentions[0].source == "forms"
    with pytest.raises(SignatureError):
        connector.receive(body, {})
