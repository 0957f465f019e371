"""Who is calling: an API bearer token, or the web app's session. Sets ``request[USER_KEY]``."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from inbox.domain.credentials import token_hash
from inbox.domain.types import UserInfo
from inbox.storage.engine import read_conn
from inbox.storage.repo import accounts
from inbox.web.keys import AUTH_CACHE, CREDENTIAL, SERVICES, USER_KEY

__all__ = ["auth_middleware", "require_user", "SESSION_USER", "CREDENTIAL", "USER_KEY"]

SESSION_USER = "uid"


async def _from_bearer(request: web.Request, header: str) -> UserInfo | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise web.HTTPUnauthorized(text="malformed Authorization header; use 'Bearer TOKEN'",
                                   headers={"WWW-Authenticate": 'Bearer realm="social-inbox"'})
    digest = token_hash(token.strip())
    request[CREDENTIAL] = ("bearer", digest)
    cache = request.app.get(AUTH_CACHE)
    key = ("bearer", digest)
    if cache is not None and (user := cache.get(key)) is not None:
        return user
    svc = request.app[SERVICES]
    async with read_conn(svc.engine) as conn:
        user = await accounts.user_by_token(digest, conn=conn)
    if cache is not None and user is not None:
        cache.put(key, user)
    return user


async def _from_session(request: web.Request) -> UserInfo | None:
    try:
        from aiohttp_session import get_session
        session = await get_session(request)
    except RuntimeError:  # no session middleware (API-only app)
        return None
    if not isinstance(session.get(SESSION_USER), int):
        return None
    # the cookie alone is not enough: its server-side session row must still be live
    from inbox.web.sessions import session_user
    user = await session_user(request, session)
    if user is None:
        session.invalidate()
    elif isinstance(token := session.get("sid"), str):
        request[CREDENTIAL] = ("session", token, str(session[SESSION_USER]))
    return user


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    header = request.headers.get("Authorization")
    user: UserInfo | None = None
    if header:
        user = await _from_bearer(request, header)
        if user is None:
            raise web.HTTPUnauthorized(text="invalid or revoked token",
                                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    else:
        user = await _from_session(request)
    request[USER_KEY] = user
    resp: web.StreamResponse = await handler(request)
    return resp


def require_user(request: web.Request) -> UserInfo:
    user = request.get(USER_KEY)
    if user is None:
        raise web.HTTPUnauthorized(text="authentication required",
                                   headers={"WWW-Authenticate": 'Bearer realm="social-inbox"'})
    return user  # type: ignore[no-any-return]
