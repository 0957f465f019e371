"""Outgoing notifications through an outbox.

Producers (the breach sweep, crisis detection, the high-priority scan) call :func:`enqueue` inside
their own transaction: one ``notification`` row per event, channel and target, with a unique
``dedupe_key``, so an event is queued exactly once however many instances see it. The delivery
job (:func:`deliver_due`) takes a short lease on due rows (SKIP LOCKED), sends them outside any
transaction, and records the outcome: delivered, retried later with exponential backoff, or failed
after ``MAX_ATTEMPTS``. Delivery is at-least-once; receivers can dedupe on ``X-Inbox-Delivery``.

Channels:
- webhook: POST of Slack-compatible JSON ``{"text": ..., "blocks": [...]}`` to each configured URL
  (settings.notifications.webhook_urls, never a URL taken from mention text). The text is Slack
  mrkdwn with ``&``, ``<`` and ``>`` escaped (:func:`mrkdwn_escape`): a mention's words quoted in
  an alert cannot become ``<!channel>``, ``<@user>`` or a ``<https://...|disguised link>``. Signed like the
  inbox's own inbound webhooks when settings.notifications.webhook_secret_env names a variable
  holding a secret: ``X-Inbox-Timestamp: <unix seconds>`` and ``X-Inbox-Signature:
  sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``. A receiver recomputes the HMAC over
  the timestamp header, a dot and the raw body, compares in constant time, and refuses a
  timestamp more than 5 minutes from its clock (a replay); ``connectors.webhook.verify_signature``
  does exactly that. Each attempt is signed afresh. Redirects are not followed. 2xx is success;
  408, 429, 5xx and network errors are retried; other 4xx fail at once.
- email: one message to settings.notifications.email_to through settings.notifications.smtp_host
  (inbox/work/smtp.py, smtplib in a worker thread; notifications.smtp_security: STARTTLS when offered by default,
  required STARTTLS, implicit TLS or none; login with smtp_username and the password from the
  environment variable named by smtp_password_env, never over plain text unless security = none).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.settings import Settings
from inbox.storage.repo import connector_state
from inbox.storage.repo import notification_outbox as nrepo
from inbox.work import smtp
from inbox.work.smtp import SmtpPolicyError

__all__ = ["enqueue", "deliver_due", "enqueue_high_priority", "enqueue_unhealthy_sources", "sign", "backoff",
           "mrkdwn_escape",
           "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "MAX_ATTEMPTS"]

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Inbox-Signature"
TIMESTAMP_HEADER = "X-Inbox-Timestamp"
MAX_ATTEMPTS = 6
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
SEND_LEASE = timedelta(minutes=2)
HTTP_TIMEOUT = 10.0
_SNIPPET = 280


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The ``X-Inbox-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after ``attempts`` failed ones: 30s, 1m, 2m, 4m ... at most 1h."""
    seconds = BASE_DELAY.total_seconds() * 2.0 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, MAX_DELAY.total_seconds()))


def mrkdwn_escape(text: str) -> str:
    """``text`` for a Slack mrkdwn field: the three characters Slack's control sequences use,
    escaped as Slack asks (``&amp;``, ``&lt;``, ``&gt;``); bold, italics and emoji names stay."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _blocks(text: str, fields: dict[str, str] | None) -> list[dict[str, Any]]:
    """Slack blocks of ``text`` and ``fields``, both already escaped."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]
    if fields:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"*{k}*: {v}"[:300]}
                                                       for k, v in list(fields.items())[:10]]})
    return blocks


def _targets(settings: Settings) -> list[tuple[str, str]]:
    n = settings.notifications
    out = [("webhook", url) for url in n.webhook_urls]
    if n.smtp_host and n.email_to:
        out.append(("email", ",".join(n.email_to)))
    return out


async def enqueue(conn: AsyncConnection, settings: Settings, now: datetime, *, kind: str, key: str, text: str,
                  item_id: int | None = None, crisis_id: int | None = None,
                  fields: dict[str, str] | None = None) -> int:
    """Queue ``text`` for every configured channel, in the caller's transaction. ``key`` identifies
    the event (e.g. ``sla_breach:resolution:42``): queuing the same key again does nothing."""
    rows: list[dict[str, Any]] = []
    for channel, target in _targets(settings):
        payload: dict[str, Any] = {"text": text}
        if channel == "webhook":
            payload["text"] = mrkdwn_escape(text)
            payload["blocks"] = _blocks(payload["text"], {mrkdwn_escape(k): mrkdwn_escape(v)
                                                          for k, v in (fields or {}).items()})
        else:
            payload["subject"] = f"[social-inbox] {text.splitlines()[0][:150]}"
        rows.append({"dedupe_key": f"{key}:{channel}:{hashlib.sha1(target.encode()).hexdigest()[:12]}",
                     "kind": kind, "channel": channel, "target": target, "item_id": item_id,
                     "crisis_id": crisis_id, "payload": payload, "status": "pending", "attempts": 0,
                     "next_attempt_at": now, "log": [], "created_at": now})
    return await nrepo.enqueue(rows, conn=conn) if rows else 0


async def enqueue_high_priority(svc: Any, *, lookback: timedelta = timedelta(hours=24), min_priority: int = 3) -> int:
    """Queue a notification for each new open item of priority >= 3 not yet notified."""
    now = svc.clock.now()
    if not _targets(svc.settings):
        return 0
    n = 0
    async with svc.engine.begin() as conn:
        for r in await nrepo.high_priority_candidates(now - lookback, conn=conn, min_priority=min_priority):
            private = r["team"] in svc.settings.private_teams
            # a private team's text never leaves the inbox: the alert only says where to look
            snippet = "" if private else ": " + " ".join(r["text"].split())[:_SNIPPET]
            text = f":warning: New priority-{r['priority']} item #{r['id']} in {r['team']}{snippet}"
            fields = {"team": r["team"], "source": r["source"], "label": r["label"] or "-"}
            n += await enqueue(conn, svc.settings, now, kind="high_priority", key=f"high_priority:{r['id']}",
                               text=text, item_id=r["id"], crisis_id=r["crisis_id"], fields=fields)
    if n:
        log.info("notifications_enqueued", kind="high_priority", count=n)
    return n


async def enqueue_unhealthy_sources(svc: Any) -> int:
    """Queue a notification for each source that turned unhealthy although its polls succeed
    (only rejects, parse errors or warnings: inbox.domain.source_health), once per spell."""
    if not _targets(svc.settings):
        return 0
    now = svc.clock.now()
    n = 0
    async with svc.engine.begin() as conn:
        for s in await connector_state.unhealthy(conn=conn):
            since = (s["last_poll"] or {}).get("unhealthy_since") or ""
            n += await enqueue(conn, svc.settings, now, kind="source_unhealthy",
                               key=f"source_unhealthy:{s['name']}:{since}",
                               text=f":warning: Source {s['name']} ({s['type']}) is unhealthy: {s['health_reason']}",
                               fields={"source": s["name"], "type": s["type"]})
    if n:
        log.info("notifications_enqueued", kind="source_unhealthy", count=n)
    return n


class _Outcome:
    __slots__ = ("ok", "status", "error", "permanent")

    def __init__(self, ok: bool, status: int | None = None, error: str | None = None, permanent: bool = False):
        self.ok, self.status, self.error, self.permanent = ok, status, error, permanent


async def _send_webhook(session: aiohttp.ClientSession, row: dict[str, Any], secret: str | None,
                        now: datetime) -> _Outcome:
    body = json.dumps({k: v for k, v in (row["payload"] or {}).items() if k in ("text", "blocks")},
                      ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "social-inbox",
               "X-Inbox-Delivery": str(row["id"]), "X-Inbox-Event": row["kind"]}
    if secret:
        stamp = int(now.timestamp())
        headers[TIMESTAMP_HEADER] = str(stamp)
        headers[SIGNATURE_HEADER] = sign(body, secret, stamp)
    try:
        async with session.post(row["target"], data=body, headers=headers, allow_redirects=False) as resp:
            await resp.read()
            if 200 <= resp.status < 300:
                return _Outcome(True, resp.status)
            permanent = 400 <= resp.status < 500 and resp.status not in (408, 429)
            return _Outcome(False, resp.status, f"HTTP {resp.status}", permanent)
    except (TimeoutError, aiohttp.ClientError, OSError) as e:
        return _Outcome(False, None, f"{type(e).__name__}: {e}"[:500])


def _send_email_sync(settings: Settings, row: dict[str, Any]) -> None:
    n = settings.notifications
    msg = EmailMessage()
    msg["From"] = n.smtp_from
    msg["To"] = row["target"]
    msg["Subject"] = (row["payload"] or {}).get("subject", "[social-inbox] notification")
    msg["X-Inbox-Delivery"] = str(row["id"])
    msg.set_content((row["payload"] or {}).get("text", ""))
    smtp.send_message(settings, msg, timeout=HTTP_TIMEOUT)


async def _send_email(settings: Settings, row: dict[str, Any]) -> _Outcome:
    if not settings.notifications.smtp_host:
        return _Outcome(False, None, "smtp_host is not configured", permanent=True)
    try:
        await asyncio.to_thread(_send_email_sync, settings, row)
        return _Outcome(True)
    except SmtpPolicyError as e:
        return _Outcome(False, None, str(e)[:500], permanent=True)
    except smtplib.SMTPResponseException as e:
        return _Outcome(False, e.smtp_code, f"SMTP {e.smtp_code}: {e.smtp_error!r}"[:500],
                        permanent=500 <= e.smtp_code < 600)
    except (smtplib.SMTPException, OSError) as e:
        return _Outcome(False, None, f"{type(e).__name__}: {e}"[:500])


async def deliver_due(svc: Any, *, limit: int = 50, session_factory: Callable[[], aiohttp.ClientSession] | None = None
                      ) -> dict[str, int]:
    """Send the notifications that are due; returns counts of delivered, retried and failed ones."""
    now = svc.clock.now()
    owner = svc.owner
    async with svc.engine.begin() as conn:
        rows = await nrepo.claim_due(conn=conn, now=now, owner=owner, lease_for=SEND_LEASE, limit=limit)
    counts = {"delivered": 0, "retried": 0, "failed": 0}
    if not rows:
        return counts
    secret_env = svc.settings.notifications.webhook_secret_env
    secret = os.environ.get(secret_env) if secret_env else None
    if secret_env and not secret:
        log.warning("webhook_secret_missing", env=secret_env)
    factory = session_factory or (lambda: aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT)))
    async with factory() as session:
        outcomes = await asyncio.gather(*[
            _send_webhook(session, r, secret, svc.clock.now()) if r["channel"] == "webhook"
            else _send_email(svc.settings, r)
            for r in rows])
    done = svc.clock.now()
    async with svc.engine.begin() as conn:
        for r, o in zip(rows, outcomes, strict=True):
            entry = {"at": done.isoformat(), "attempt": r["attempts"], "ok": o.ok, "status": o.status,
                     "error": o.error}
            values: dict[str, Any] = {"last_status": o.status, "last_error": o.error,
                                      "log": (list(r["log"] or []) + [entry])[-20:]}
            if o.ok:
                values.update(status="delivered", delivered_at=done)
                counts["delivered"] += 1
            elif o.permanent or r["attempts"] >= MAX_ATTEMPTS:
                values.update(status="failed")
                counts["failed"] += 1
            else:
                values.update(status="pending", next_attempt_at=done + backoff(r["attempts"]))
                counts["retried"] += 1
            await nrepo.finish(r["id"], owner, values, conn=conn)
    log.info("notifications_delivered", **counts)
    return counts
