"""Delivering the briefs: one e-mail per recipient, in the recipient's language, with an HTML body,
a plain-text part and the PDF attached, through the notifications' SMTP settings.

:func:`send_due` sends, for each audience with recipients, the brief of the last whole period
(settings.digest.every) unless it went out already: a digest_run row per (audience, period) is
claimed first (inbox.storage.repo.digests), so several instances send it once. A recipient whose
delivery failed is tried again at the next look, up to digests.MAX_ATTEMPTS times, without
sending again to those who got it. :func:`send_now` sends the period that ends now."""
from __future__ import annotations

import asyncio
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import structlog

from inbox.settings import Settings
from inbox.storage.repo import digests
from inbox.web.brief_pdf import render_pdf
from inbox.web.brief_render import render_html, render_text, subject
from inbox.work import smtp
from inbox.work.brief import audiences, build_brief, period_ending

__all__ = ["compose", "send_due", "send_now", "send_period"]

log = structlog.get_logger(__name__)
SEND_LEASE = timedelta(minutes=10)


def compose(brief: dict[str, Any], settings: Settings, to: str, lang: str) -> EmailMessage:
    """The e-mail of ``brief`` for ``to``: text and HTML alternatives, and the PDF attached."""
    msg = EmailMessage()
    msg["From"] = settings.notifications.smtp_from
    msg["To"] = to
    msg["Subject"] = subject(brief, settings, lang)
    msg["Message-ID"] = make_msgid(domain="social-inbox")
    msg.set_content(render_text(brief, settings, lang))
    msg.add_alternative(render_html(brief, settings, lang), subtype="html")
    day = brief["until"][:10]
    msg.add_attachment(render_pdf(brief, settings, lang), maintype="application", subtype="pdf",
                       filename=f"brief-{brief['audience']}-{day}.pdf")
    return msg


def _send(settings: Settings, msg: EmailMessage) -> str | None:
    """None when sent, else why not."""
    try:
        smtp.send_message(settings, msg)
        return None
    except smtplib.SMTPResponseException as e:
        return f"SMTP {e.smtp_code}: {e.smtp_error!r}"[:500]
    except (smtplib.SMTPException, OSError) as e:
        return f"{type(e).__name__}: {e}"[:500]


async def send_period(svc: Any, audience: str, start: datetime, end: datetime) -> dict[str, Any] | None:
    """Send the brief of ``audience`` for [start, end) to its recipients unless it was sent (or is
    being sent by another instance); the run's outcome, or None when there was nothing to do."""
    bound = log.bind(audience=audience, period_end=end.isoformat())
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        to = await digests.recipients(conn=conn, audience=audience)
        if not to:
            return None
        run = await digests.claim_run(audience, start, end, conn=conn, now=now, lease_for=SEND_LEASE)
    if run is None:
        return None
    brief = run["brief"] or await build_brief(svc.engine, svc.settings, audience, start, end, now=now)
    done = {d["email"] for d in run["deliveries"] if d.get("ok")}
    deliveries = [d for d in run["deliveries"] if d.get("ok")]
    for r in to:
        if r["email"] in done:
            continue
        msg = compose(brief, svc.settings, r["email"], r["lang"])
        error = await asyncio.to_thread(_send, svc.settings, msg)
        deliveries.append({"email": r["email"], "lang": r["lang"], "ok": error is None, "error": error,
                           "at": svc.clock.now().isoformat()})
        if error:
            bound.warning("brief_delivery_failed", error=error)
    status = "sent" if all(d["ok"] for d in deliveries) else "failed"
    async with svc.engine.begin() as conn:
        await digests.finish_run(run["id"], conn=conn, status=status, brief=brief, deliveries=deliveries,
                                 sent_at=svc.clock.now() if status == "sent" else None)
    bound.info("brief_sent", status=status, recipients=len(deliveries), attempt=run["attempts"])
    return {"id": run["id"], "audience": audience, "status": status, "deliveries": deliveries}


async def send_due(svc: Any) -> list[dict[str, Any]]:
    """Send every audience's brief of the last whole period that has not gone out."""
    cfg = svc.settings.digest
    if not cfg.enabled:
        return []
    start, end = period_ending(svc.clock.now(), cfg.every)
    out = []
    for audience in audiences(svc.settings):
        result = await send_period(svc, audience, start, end)
        if result is not None:
            out.append(result)
    return out


async def send_now(svc: Any, audience: str) -> dict[str, Any] | None:
    """Send ``audience``'s brief of the period of settings.digest.every that ends now."""
    now = svc.clock.now()
    return await send_period(svc, audience, now - svc.settings.digest.every, now + timedelta(microseconds=1))
