"""The briefs delivered to a real SMTP server (aiosmtpd on 127.0.0.1): one message per recipient in
their language with a plain-text part, an HTML part and the PDF attached; sent once per period
(a digest_run row), a refused recipient tried again without re-sending to the others; and the
`social-inbox digest` command writing a brief and sending the due ones."""
from __future__ import annotations

import email
import json
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from inbox.settings import NotificationSettings
from inbox.storage.repo import digests
from inbox.web.brief_mail import send_due, send_now
from tests.integration.test_brief import UNTIL, seed
from tests.integration.test_cli import run


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses addresses starting with "bad"."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("bad"):
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    with socket.socket() as probe:  # a free port (the controller checks it is up by connecting to it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield box, port
    finally:
        ctl.stop()


def _parts(msg: EmailMessage) -> dict[str, Any]:
    body_text = msg.get_body(preferencelist=("plain",))
    body_html = msg.get_body(preferencelist=("html",))
    pdfs = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    return {"text": body_text.get_content() if body_text else None, "html": body_html.get_content() if body_html
            else None, "pdf": pdfs[0].get_content() if pdfs else None,
            "filename": pdfs[0].get_filename() if pdfs else None}


async def test_due_briefs_reach_the_smtp_server_once(services: Any, smtp_server: tuple[Inbox, int]) -> None:
    box, port = smtp_server
    services.settings.notifications = NotificationSettings(smtp_host="127.0.0.1", smtp_port=port,
                                                           smtp_from="inbox@example.com")
    await seed(services)
    async with services.engine.begin() as conn:
        for audience, to, lang in [("executive", "ceo@example.com", "en"), ("executive", "cfo@example.com", "it"),
                                   ("customer_care", "care@example.com", "it"), ("pr", "bad@example.com", "en")]:
            await digests.add_recipient(audience, to, lang, conn=conn, now=services.clock.now())
    services.clock._now = UNTIL + timedelta(hours=2)  # Monday: last week's briefs are due
    results = {r["audience"]: r for r in await send_due(services)}
    assert {a: r["status"] for a, r in results.items()} == {"executive": "sent", "customer_care": "sent",
                                                           "pr": "failed"}
    by_to = {m["To"]: m for m in box.messages}
    assert sorted(by_to) == ["care@example.com", "ceo@example.com", "cfo@example.com"]
    ceo, cfo = _parts(by_to["ceo@example.com"]), _parts(by_to["cfo@example.com"])
    assert by_to["ceo@example.com"]["Subject"].startswith("Executive brief · Jan 5, 2026")
    assert by_to["cfo@example.com"]["Subject"].startswith("Sintesi per la direzione")
    for p in (ceo, cfo):
        assert p["text"] and p["html"] and p["pdf"] and p["pdf"].startswith(b"%PDF-")
        assert "&lt;script&gt;" in p["html"] and "<script>" not in p["html"]
    assert "Mentions" in ceo["text"] and "Menzioni" in cfo["text"]
    assert ceo["filename"] == "brief-executive-2026-01-12.pdf"
    assert "Sintesi: Assistenza clienti" in _parts(by_to["care@example.com"])["html"]
    # sent once: a second look (or another instance) sends nothing again; the refused one is retried alone
    services.clock.advance(timedelta(minutes=15))
    again = await send_due(services)
    assert [(r["audience"], r["status"]) for r in again] == [("pr", "failed")] and len(box.messages) == 3
    async with services.engine.connect() as conn:
        runs = {r["audience"]: r for r in await digests.runs(conn=conn)}
    assert runs["executive"]["status"] == "sent" and runs["executive"]["attempts"] == 1
    assert runs["pr"]["attempts"] == 2 and "550" in runs["pr"]["deliveries"][0]["error"]
    # "send now": the period that ends now, a run of its own
    now = await send_now(services, "customer_care")
    assert now is not None and now["status"] == "sent" and len(box.messages) == 4


@pytest.mark.parametrize("backend", ["sqlite"])
def test_digest_command_writes_and_sends(backend: str, tmp_path: Path, smtp_server: tuple[Inbox, int],
                                         cli_sqlite_url: Callable[[str], str]) -> None:
    """`digest --format pdf|html|text --out FILE`, bad arguments as one-line errors, `digest recipients`
    and `digest send` through the configured SMTP server."""
    box, port = smtp_server
    env = {"INBOX_DATABASE_URL": cli_sqlite_url("cli.db"), "INBOX_MODEL_DIR": str(tmp_path / "m"),
           "INBOX_NOTIFICATIONS__SMTP_HOST": "127.0.0.1", "INBOX_NOTIFICATIONS__SMTP_PORT": str(port),
           "INBOX_DIGEST__EVERY": "1m"}
    for fmt in ("pdf", "html", "text"):
        out = tmp_path / f"brief.{fmt}"
        r = run("digest", "--period", "7d", "--team", "customer_care", "--format", fmt, "--lang", "it",
                "--out", str(out), env=env)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["written"] == str(out) and out.stat().st_size > 500
    assert (tmp_path / "brief.pdf").read_bytes().startswith(b"%PDF-")
    assert "Sintesi: Assistenza clienti" in (tmp_path / "brief.html").read_text()
    bad = run("digest", "--team", "nope", env=env)
    assert bad.returncode == 1 and bad.stderr.strip() == "social-inbox: error: --team: unknown team 'nope'"
    assert run("digest", "--period", "soon", env=env).returncode == 1
    assert run("digest", "recipients", "--add", "executive", "not an address", env=env).returncode == 1
    r = run("digest", "recipients", "--add", "executive", "boss@example.com", "--lang", "it", env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["email"] == "boss@example.com"
    r = run("digest", "send", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["status"] == "sent"
    assert [m["To"] for m in box.messages] == ["boss@example.com"]


def test_serve_schedules_the_briefs(tmp_path: Path) -> None:
    """A worker's scheduler holds the send_briefs job every digest.check_every; digest.enabled = false
    leaves it out."""
    from inbox.web.keys import SCHEDULER
    from tests.conftest import live_server
    for enabled, expected in ((True, [600.0]), (False, [])):
        tmp = tmp_path / f"s{enabled}"
        tmp.mkdir()
        with live_server("sqlite", tmp, role="worker", digest={"enabled": enabled, "check_every": "10m"},
                         connectors=[]) as srv:
            assert srv.app is not None
            jobs = srv.app[SCHEDULER].sched.get_jobs()
            assert [j.trigger.interval.total_seconds() for j in jobs if j.id == "send_briefs"] == expected
