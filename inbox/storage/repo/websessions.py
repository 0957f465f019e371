"""Server-side web sessions, stored as rows of ``api_token`` labelled ``web-session``.

The browser's encrypted cookie carries a random session token; the row holds its hash, so a
logout (or ``users revoke``, or deactivating the user) kills every copy of the cookie. The stored
hash is SHA-256 over ``"web-session:" + token``, so a session token is never accepted as a bearer
API token (whose hash is SHA-256 over the bare token)."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.types import UserInfo
from inbox.storage.repo import accounts
from inbox.storage.repo._common import T_LOGIN, T_TOKEN, T_USER

__all__ = ["SESSION_LABEL", "session_hash", "create_session", "session_user", "revoke_session",
           "failures_since_success"]

SESSION_LABEL = "web-session"


def session_hash(token: str) -> str:
    return hashlib.sha256(f"{SESSION_LABEL}:{token}".encode()).hexdigest()


async def create_session(user_id: int, token: str, *, conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(T_TOKEN.insert().values(user_id=user_id, token_hash=session_hash(token),
                                               label=SESSION_LABEL, created_at=now, last_used_at=now))


_SESSION_USER = (select(T_TOKEN.c.created_at.label("session_created_at"), T_TOKEN.c.last_used_at, T_USER)
                 .join(T_USER, T_USER.c.id == T_TOKEN.c.user_id)
                 .where(T_TOKEN.c.token_hash == bindparam("s_hash"), T_TOKEN.c.label == SESSION_LABEL,
                        T_TOKEN.c.user_id == bindparam("s_uid"), T_TOKEN.c.revoked_at.is_(None),
                        T_USER.c.active.is_(True)))


async def session_user(token: str, user_id: int, *, conn: AsyncConnection, now: datetime, idle: timedelta,
                       lifetime: timedelta) -> tuple[UserInfo | None, bool]:
    """The live session's user, or None when the session was revoked, idled out or is too old.
    The second value says whether ``last_used_at`` is stale enough to be touched (see touch)."""
    # one query for the session row and its (active) user, one for the user's teams
    row = (await conn.execute(_SESSION_USER, {"s_hash": session_hash(token), "s_uid": user_id})).first()
    if row is None:
        return None, False
    m = row._mapping
    created, used = m["session_created_at"], m["last_used_at"] or m["session_created_at"]
    if now - created > lifetime or now - used > idle:
        return None, False
    teams = (await accounts._teams_of([user_id], conn=conn))[user_id]
    return accounts._info(m, teams), now - used > timedelta(minutes=5)


async def touch_session(token: str, *, conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(update(T_TOKEN).where(T_TOKEN.c.token_hash == session_hash(token))
                       .values(last_used_at=now))


async def revoke_session(token: str, *, conn: AsyncConnection, now: datetime) -> int:
    users = (await conn.execute(update(T_TOKEN).where(T_TOKEN.c.token_hash == session_hash(token),
                                                      T_TOKEN.c.revoked_at.is_(None)).values(revoked_at=now)
                                .returning(T_TOKEN.c.user_id))).scalars().all()
    for uid in set(users):
        await accounts.auth_changed(conn, now=now, user_id=uid)
    return len(users)


async def failures_since_success(name: str, since: datetime, *, conn: AsyncConnection) -> int:
    """Failed logins for ``name`` after ``since`` and after the last successful one."""
    last_ok = (await conn.execute(select(func.max(T_LOGIN.c.created_at))
                                  .where(T_LOGIN.c.name == name, T_LOGIN.c.ok.is_(True)))).scalar()
    start = max(since, last_ok) if last_ok is not None else since
    q = select(func.count()).select_from(T_LOGIN).where(T_LOGIN.c.name == name, T_LOGIN.c.ok.is_(False),
                                                        T_LOGIN.c.created_at > start if last_ok else
                                                        T_LOGIN.c.created_at >= start)
    return int((await conn.execute(q)).scalar_one())
