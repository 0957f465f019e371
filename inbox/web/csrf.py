"""Cross-site request forgery defence for session-authenticated requests.

Every state-changing request (POST, PUT, PATCH, DELETE) that is not a bearer API call must
1. come from this site: its Origin header (or, when absent, its Referer) names our own origin;
2. carry the session's CSRF token, in the form field ``_csrf`` or the ``X-CSRF-Token`` header.
API requests that carry neither a session cookie nor a token are left to authentication (401);
bearer requests are exempt (a browser never attaches that header cross-site); so is the signed
webhook. SameSite=Lax on the cookie is a third, independent layer."""
from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_session import get_session

from inbox.errors import Forbidden
from inbox.web.inputs import read_form
from inbox.web.sessions import COOKIE_NAME, CSRF_KEY

__all__ = ["csrf_middleware", "csrf_token", "FIELD", "HEADER"]

FIELD = "_csrf"
HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT_PREFIXES = ("/api/v1/ingest/",)


async def csrf_token(request: web.Request) -> str:
    """The session's CSRF token, created on first use (so anonymous forms such as login get one)."""
    session = await get_session(request)
    tok = session.get(CSRF_KEY)
    if not isinstance(tok, str):
        tok = secrets.token_urlsafe(32)
        session[CSRF_KEY] = tok
    return tok


def _own_origin(request: web.Request) -> str:
    # scheme and host as the client used them: behind a configured proxy, what it forwarded
    # (inbox.web.forwarded); never a client's own X-Forwarded-* headers
    return f"{request.scheme}://{request.host}".lower()


def _same_origin(request: web.Request) -> bool:
    own = _own_origin(request)
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.lower() == own
    referer = request.headers.get("Referer")
    if not referer:
        return False
    p = urlsplit(referer)
    return f"{p.scheme}://{p.netloc}".lower() == own


def needs_check(request: web.Request) -> bool:
    if request.method not in UNSAFE:
        return False
    if request.headers.get("Authorization"):
        return False
    if request.path.startswith(EXEMPT_PREFIXES):
        return False
    if request.path.startswith("/api/") and COOKIE_NAME not in request.cookies:
        return False  # not session-authenticated: authentication answers 401
    return True


@web.middleware
async def csrf_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if needs_check(request):
        if not _same_origin(request):
            raise Forbidden("cross-site request refused (Origin/Referer does not match this site)")
        session = await get_session(request)
        expected = session.get(CSRF_KEY)
        sent = request.headers.get(HEADER)
        if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await read_form(request)  # cached by aiohttp: the handler reads it again for free
            value = form.get(FIELD)
            sent = value if isinstance(value, str) else None
        if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
            raise Forbidden("missing or invalid CSRF token; reload the page and try again")
    resp: web.StreamResponse = await handler(request)
    return resp
