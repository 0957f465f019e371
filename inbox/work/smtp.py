"""Sending one e-mail through the configured SMTP server (settings.notifications): implicit TLS,
STARTTLS when offered (or required), or plain; login with smtp_username and the password from the
environment variable named by smtp_password_env, never over plain text unless security is
"none". Blocking (smtplib): call it in a worker thread."""
from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage

from inbox.settings import Settings

__all__ = ["send_message", "SmtpPolicyError", "TIMEOUT"]

TIMEOUT = 10.0


class SmtpPolicyError(smtplib.SMTPException):
    """The configured SMTP security cannot be met; not retried."""


def send_message(settings: Settings, msg: EmailMessage, *, timeout: float = TIMEOUT) -> None:
    """Send ``msg`` (its From, To and Subject set by the caller); raises smtplib errors or OSError."""
    n = settings.notifications
    if not n.smtp_host:
        raise SmtpPolicyError("notifications.smtp_host is not configured")
    name = n.smtp_password_env
    password = os.environ.get(name) if name else None
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if n.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(n.smtp_host, n.smtp_port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(n.smtp_host, n.smtp_port, timeout=timeout)
    with smtp:
        smtp.ehlo()
        encrypted = n.smtp_security == "tls"
        if n.smtp_security in ("starttls", "require-starttls"):
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
                encrypted = True
            elif n.smtp_security == "require-starttls":
                raise SmtpPolicyError("the SMTP server does not offer STARTTLS (smtp_security = require-starttls)")
        if n.smtp_username:
            if not encrypted and n.smtp_security != "none":
                raise SmtpPolicyError("refusing to send the SMTP password over a plain-text connection")
            smtp.login(n.smtp_username, password or "")
        smtp.send_message(msg)
