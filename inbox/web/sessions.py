"""Web sessions: an encrypted cookie (aiohttp_session's EncryptedCookieStorage: Fernet,
HttpOnly, SameSite=Lax, Secure when configured or when the request came over TLS) that carries
the user id, a random session token and the CSRF token; the token's hash is a server-side row
(see inbox.storage.repo.websessions), so logout really ends the session everywhere.

The cookie key comes from the environment variable named by ``settings.server.secret_env``
(any string; it is stretched to a Fernet key with SHA-256); without it, a random key per process
is used, which signs everybody out on restart and does not work across several instances."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from inbox.domain.types import UserInfo
from inbox.settings import Settings
from inbox.storage.engine import read_conn
from inbox.storage.repo import websessions
from inbox.web.authcache import forget_all
from inbox.web.keys import AUTH_CACHE, SERVICES

__all__ = ["COOKIE_NAME", "make_storage", "login", "logout", "session_user", "is_secure", "IDLE", "LIFETIME"]

log = structlog.get_logger(__name__)

COOKIE_NAME = "inbox_session"
SESSION_USER = "uid"      # read by inbox.web.authn
SESSION_TOKEN = "sid"
CSRF_KEY = "csrf"
IDLE = timedelta(hours=8)
LIFETIME = timedelta(days=7)


def is_secure(request: web.Request, settings: Settings) -> bool:
    """Whether the session cookie must be Secure: configured, or the request came over TLS
    (directly, or through a configured proxy that says so: inbox.web.forwarded)."""
    return bool(settings.server.secure_cookies or request.secure)


class _Storage(EncryptedCookieStorage):
    """EncryptedCookieStorage whose Secure flag is decided per request: a cookie for a secure
    request is written by a second storage with the same key and ``secure=True``."""

    def __init__(self, key: bytes, settings: Settings) -> None:
        params: dict[str, Any] = {"cookie_name": COOKIE_NAME, "httponly": True, "samesite": "Lax", "max_age": None,
                                  "path": "/"}
        super().__init__(key, secure=False, **params)
        self._secure_storage = EncryptedCookieStorage(key, secure=True, **params)
        self._settings = settings

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        if is_secure(request, self._settings):
            await self._secure_storage.save_session(request, response, session)
        else:
            await super().save_session(request, response, session)


def secret_key(settings: Settings) -> bytes:
    raw = os.environ.get(settings.server.secret_env, "")
    if not raw:
        log.warning("session_secret_missing_using_random_key", env=settings.server.secret_env)
        return secrets.token_bytes(32)
    return hashlib.sha256(raw.encode()).digest()


def make_storage(settings: Settings) -> EncryptedCookieStorage:
    return _Storage(secret_key(settings), settings)


def fernet_key(key: bytes) -> bytes:  # pragma: no cover - kept for tools decoding cookies
    return base64.urlsafe_b64encode(key)


async def login(request: web.Request, user: UserInfo) -> Session:
    """A brand-new session for ``user``: the old one (and its CSRF token) is dropped, so a
    session id planted before login is worthless after it."""
    svc = request.app[SERVICES]
    old = await get_session(request)
    old_token = old.get(SESSION_TOKEN)
    token = secrets.token_urlsafe(32)
    async with svc.engine.begin() as conn:
        if isinstance(old_token, str):
            await websessions.revoke_session(old_token, conn=conn, now=svc.clock.now())
        await websessions.create_session(user.id, token, conn=conn, now=svc.clock.now())
    forget_all(request.app)
    session = await new_session(request)
    session[SESSION_USER] = user.id
    session[SESSION_TOKEN] = token
    session[CSRF_KEY] = secrets.token_urlsafe(32)
    log.info("login", user=user.name)
    return session


async def logout(request: web.Request) -> None:
    svc = request.app[SERVICES]
    session = await get_session(request)
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):
        async with svc.engine.begin() as conn:
            await websessions.revoke_session(token, conn=conn, now=svc.clock.now())
    forget_all(request.app)
    session.invalidate()


async def session_user(request: web.Request, session: Any) -> UserInfo | None:
    """The user of a live session (not revoked, not idle or too old), else None."""
    uid, token = session.get(SESSION_USER), session.get(SESSION_TOKEN)
    if not isinstance(uid, int) or not isinstance(token, str):
        return None
    cache = request.app.get(AUTH_CACHE)
    key = ("session", websessions.session_hash(token), str(uid))
    if cache is not None and (user := cache.get(key)) is not None:
        return user
    svc = request.app[SERVICES]
    now = svc.clock.now()
    async with read_conn(svc.engine) as conn:
        user, stale = await websessions.session_user(token, uid, conn=conn, now=now, idle=IDLE, lifetime=LIFETIME)
    if user is not None and stale:
        async with svc.engine.begin() as conn:
            await websessions.touch_session(token, conn=conn, now=now)
    if cache is not None and user is not None:
        cache.put(key, user)
    return user
