"""Notifications on both back ends: Slack-compatible webhooks signed with HMAC-SHA256 against a real
local aiohttp server, retries with exponential backoff and bounded attempts, the delivery log, e-mail
through a tiny local SMTP server, and the high-priority scan queuing each item once."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiohttp import web

from connectors.base import Mention
from connectors.errors import SignatureError
from connectors.testing import serve_app
from connectors.webhook import verify_signature
from inbox.domain.clock import FakeClock
from inbox.ops.services import Services
from inbox.storage.repo import notification_outbox as nrepo
from inbox.work import notifier
from tests.conftest import open_services

SECRET_ENV = "INBOX_TEST_WEBHOOK_SECRET"
SECRET = "s3cret-for-tests"


class Hook:
    """A local webhook receiver that answers with the queued statuses (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200, text="ok")


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    h = Hook()
    app = web.Application()
    app.router.add_post("/hook", h.handle)
    async with serve_app(app) as base:
        h.url = f"{base}/hook"
        yield h


class SMTPSink:
    """Just enough SMTP (EHLO, MAIL, RCPT, DATA, QUIT) to receive messages in a test."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.auth: list[str] = []      # decoded AUTH PLAIN credentials ("user\0password")
        self.port = 0
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rcpts: list[str] = []
        writer.write(b"220 sink ESMTP\r\n")
        while line := await reader.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                writer.write(b"250-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
            elif verb == "AUTH":
                self.auth.append(base64.b64decode(cmd.split()[2]).decode().lstrip("\0"))
                writer.write(b"235 2.7.0 Authentication successful\r\n")
            elif verb == "MAIL":
                rcpts = []
                writer.write(b"250 OK\r\n")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip(" <>"))
                writer.write(b"250 OK\r\n")
            elif verb == "DATA":
                writer.write(b"354 go on\r\n")
                await writer.drain()
                body = await reader.readuntil(b"\r\n.\r\n")
                self.messages.append((rcpts, body[:-5]))
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()


@pytest.fixture
async def smtp() -> AsyncIterator[SMTPSink]:
    s = SMTPSink()
    await s.start()
    yield s
    assert s.server is not None
    s.server.close()
    await s.server.wait_closed()


async def _services(db_url: str, settings_factory: Any, clock: FakeClock, classifier: Any, **notif: Any) -> Services:
    settings = settings_factory(db_url, notifications={"webhook_secret_env": SECRET_ENV, **notif})
    svc = await open_services(settings, clock=clock, classifier=classifier)
    return svc


async def _enqueue(svc: Any, key: str = "test:1", text: str = "hello *team*") -> int:
    async with svc.engine.begin() as conn:
        return await notifier.enqueue(conn, svc.settings, svc.clock.now(), kind="sla_breach", key=key, text=text,
                                    fields={"team": "pr"})


async def _rows(svc: Any) -> list[dict[str, Any]]:
    async with svc.engine.connect() as conn:
        return await nrepo.list_notifications(conn=conn)


async def test_webhook_is_signed_slack_json(db_url: str, settings_factory: Any, clock: FakeClock,
                                            fake_classifier: Any, hook: Hook, monkeypatch: Any) -> None:
    """The body is {"text", "blocks"}; it is signed like inbound webhooks: HMAC-SHA256 over the timestamp header,
    a dot and the exact body, which connectors.webhook.verify_signature accepts now and refuses 10 minutes later."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    svc = await _services(db_url, settings_factory, clock, fake_classifier, webhook_urls=[hook.url])
    try:
        assert await _enqueue(svc) == 1
        assert await _enqueue(svc) == 0  # the same event is queued once
        assert await notifier.deliver_due(svc) == {"delivered": 1, "retried": 0, "failed": 0}
        [(headers, body)] = hook.requests
        doc = json.loads(body)
        assert set(doc) == {"text", "blocks"} and doc["text"] == "hello *team*"
        assert doc["blocks"][0]["type"] == "section"
        stamp = headers[notifier.TIMESTAMP_HEADER]
        assert int(stamp) == int(clock.now().timestamp())
        expected = "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert headers[notifier.SIGNATURE_HEADER] == expected
        verify_signature(SECRET.encode(), body, headers, now=clock.now())
        with pytest.raises(SignatureError, match="replay window"):
            verify_signature(SECRET.encode(), body, headers, now=clock.now() + timedelta(minutes=10))
        assert headers["X-Inbox-Event"] == "sla_breach"
        [row] = await _rows(svc)
        assert (row["status"], row["attempts"], row["last_status"]) == ("delivered", 1, 200)
        assert await notifier.deliver_due(svc) == {"delivered": 0, "retried": 0, "failed": 0}
    finally:
        await svc.close()


async def test_retries_back_off_then_deliver(db_url: str, settings_factory: Any, clock: FakeClock,
                                             fake_classifier: Any, hook: Hook) -> None:
    """503, 503, then 200: retried after 30 s and 60 s (fake clock), three attempts in the log."""
    svc = await _services(db_url, settings_factory, clock, fake_classifier, webhook_urls=[hook.url])
    try:
        hook.statuses = [503, 503]
        await _enqueue(svc)
        assert (await notifier.deliver_due(svc))["retried"] == 1
        assert (await notifier.deliver_due(svc))["retried"] == 0  # not due yet
        clock.advance(29)
        assert len(hook.requests) == 1 and (await notifier.deliver_due(svc))["retried"] == 0
        clock.advance(1)
        assert (await notifier.deliver_due(svc))["retried"] == 1
        clock.advance(59)
        assert (await notifier.deliver_due(svc))["delivered"] == 0
        clock.advance(1)
        assert (await notifier.deliver_due(svc))["delivered"] == 1
        [row] = await _rows(svc)
        assert row["attempts"] == 3 and [e["status"] for e in row["log"]] == [503, 503, 200]
        assert len(hook.requests) == 3
    finally:
        await svc.close()


async def test_attempts_are_bounded_and_client_errors_are_final(db_url: str, settings_factory: Any, clock: FakeClock,
                                                               fake_classifier: Any, hook: Hook) -> None:
    """A target that keeps failing is given up after MAX_ATTEMPTS; a 404 fails at once."""
    svc = await _services(db_url, settings_factory, clock, fake_classifier, webhook_urls=[hook.url])
    try:
        hook.statuses = [500] * 20
        await _enqueue(svc, "k:500")
        for _ in range(notifier.MAX_ATTEMPTS + 2):
            await notifier.deliver_due(svc)
            clock.advance(notifier.MAX_DELAY)
        [row] = await _rows(svc)
        assert (row["status"], row["attempts"]) == ("failed", notifier.MAX_ATTEMPTS)
        hook.statuses = [404]
        await _enqueue(svc, "k:404")
        assert (await notifier.deliver_due(svc))["failed"] == 1
        assert len(hook.requests) == notifier.MAX_ATTEMPTS + 1
    finally:
        await svc.close()


async def test_email_through_smtp(db_url: str, settings_factory: Any, clock: FakeClock, fake_classifier: Any,
                                  smtp: SMTPSink) -> None:
    """With smtp_host set, each notification is also one e-mail to email_to."""
    svc = await _services(db_url, settings_factory, clock, fake_classifier, smtp_host="127.0.0.1",
                          smtp_port=smtp.port, email_to=["pr@example.com", "lead@example.com"])
    try:
        await _enqueue(svc, text="SLA breach on item #7\nsecond line")
        assert await notifier.deliver_due(svc) == {"delivered": 1, "retried": 0, "failed": 0}
        [(rcpts, raw)] = smtp.messages
        assert rcpts == ["pr@example.com", "lead@example.com"]
        msg = message_from_bytes(raw)
        assert msg["Subject"] == "[social-inbox] SLA breach on item #7"
        assert "second line" in msg.get_payload()
    finally:
        await svc.close()


async def test_smtp_login_when_security_allows_it(db_url: str, settings_factory: Any, clock: FakeClock,
                                                  fake_classifier: Any, smtp: SMTPSink, monkeypatch: Any) -> None:
    """smtp_username logs in with the password from the named environment variable."""
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    svc = await _services(db_url, settings_factory, clock, fake_classifier, smtp_host="127.0.0.1",
                          smtp_port=smtp.port, email_to=["pr@example.com"], smtp_security="none",
                          smtp_username="inbox", smtp_password_env="TEST_SMTP_PASSWORD")
    try:
        await _enqueue(svc)
        assert await notifier.deliver_due(svc) == {"delivered": 1, "retried": 0, "failed": 0}
        assert smtp.auth == ["inbox\0s3cret"] and len(smtp.messages) == 1
    finally:
        await svc.close()


@pytest.mark.parametrize("security", ["starttls", "require-starttls"])
async def test_smtp_password_never_sent_in_plain_text(security: str, db_url: str, settings_factory: Any,
                                                      clock: FakeClock, fake_classifier: Any, smtp: SMTPSink,
                                                      monkeypatch: Any) -> None:
    """A server without STARTTLS gets neither the password nor the message; the failure is final
    and says why."""
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    svc = await _services(db_url, settings_factory, clock, fake_classifier, smtp_host="127.0.0.1",
                          smtp_port=smtp.port, email_to=["pr@example.com"], smtp_security=security,
                          smtp_username="inbox", smtp_password_env="TEST_SMTP_PASSWORD")
    try:
        await _enqueue(svc)
        assert await notifier.deliver_due(svc) == {"delivered": 0, "retried": 0, "failed": 1}
        assert smtp.auth == [] and smtp.messages == []
        [row] = await _rows(svc)
        assert "STARTTLS" in (row["last_error"] or "") or "plain-text" in (row["last_error"] or "")
    finally:
        await svc.close()


async def test_high_priority_items_are_notified_once(db_url: str, settings_factory: Any, clock: FakeClock,
                                                     fake_classifier: Any, hook: Hook) -> None:
    """A new priority-3 item is queued once; an HR item's text never leaves the inbox."""
    svc = await _services(db_url, settings_factory, clock, fake_classifier, webhook_urls=[hook.url])
    try:
        await svc.pipeline.ingest([
            Mention(source="t", platform="t", external_id="u", language="en",
                    text="URGENT!!! my order exploded and caught fire, refund now"),
            Mention(source="t", platform="t", external_id="h", language="en", author_followers=50_000,
                    text="URGENT!!! job interview cancelled, harassment by the recruiter"),
            Mention(source="t", platform="t", external_id="n", language="en", text="refund for order 5 please")])
        assert await notifier.enqueue_high_priority(svc) == 2
        assert await notifier.enqueue_high_priority(svc) == 0
        assert (await notifier.deliver_due(svc))["delivered"] == 2
        texts = sorted(json.loads(b)["text"] for _, b in hook.requests)
        assert any("in customer_care: URGENT" in t for t in texts)
        hr = [t for t in texts if "in hr" in t]
        assert hr and "harassment" not in hr[0]
    finally:
        await svc.close()


async def test_mention_text_cannot_ping_or_link_in_slack(db_url: str, settings_factory: Any, clock: FakeClock,
                                                        fake_classifier: Any, hook: Hook) -> None:
    """A mention quoted in a high-priority alert arrives with Slack's control characters escaped: its
    '<!channel>', '<@U…>' and '<url|label>' are shown as typed, not a ping or a disguised link."""
    svc = await _services(db_url, settings_factory, clock, fake_classifier, webhook_urls=[hook.url])
    try:
        await svc.pipeline.ingest([Mention(
            source="t", platform="t", external_id="x", language="en",
            text="URGENT!!! my order exploded and caught fire <!channel> <@U024BE7LH> "
                 "<https://evil.example/login|Reset your inbox password> & refund now")])
        assert await notifier.enqueue_high_priority(svc) == 1
        assert (await notifier.deliver_due(svc))["delivered"] == 1
        [(_, body)] = hook.requests
        doc = json.loads(body)
        shown = [doc["text"], *(b["text"]["text"] for b in doc["blocks"] if b["type"] == "section"),
                 *(e["text"] for b in doc["blocks"] if b["type"] == "context" for e in b["elements"])]
        assert all("<" not in t and ">" not in t for t in shown), shown
        assert ("&lt;!channel&gt; &lt;@U024BE7LH&gt; &lt;https://evil.example/login|Reset your inbox password&gt; "
                "&amp; refund") in doc["text"]
    finally:
        await svc.close()
