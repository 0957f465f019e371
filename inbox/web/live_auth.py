"""Open live streams re-checked when authorisation changes.

A /live stream is authorised once, when it opens; it must not outlive that authorisation. Every
change to who a credential belongs to or what a user may do (a token revoked, a logout, a
deactivation, a team or role change, from this process, another instance or the CLI) writes an
``auth`` message on the service's control channel (inbox.ops.control; read at once on
PostgreSQL, within a second on SQLite). On each one the guard looks the credential of every
affected stream up again, bypassing the credential cache, and ends each stream whose credential
no longer gives the same user with the same role and teams. The browser's EventSource reconnects
by itself and is authorised afresh: a revoked credential gets 401, a moved user a stream filtered
by the new teams. Streams are also re-checked every ``every`` seconds (a session that idles out
or reaches its lifetime sends no message)."""
from __future__ import annotations

import asyncio
from typing import Any

import structlog

from inbox.domain.types import UserInfo
from inbox.storage.engine import read_conn
from inbox.storage.repo import accounts, websessions

__all__ = ["current_user", "StreamGuard"]

log = structlog.get_logger(__name__)


async def current_user(svc: Any, credential: tuple[str, ...]) -> UserInfo | None:
    """Who ``credential`` (inbox.web.authn.CREDENTIAL) belongs to now, from the database."""
    from inbox.web.sessions import IDLE, LIFETIME
    async with read_conn(svc.engine) as conn:
        if credential[:1] == ("bearer",) and len(credential) == 2:
            return await accounts.user_by_token(credential[1], conn=conn)
        if credential[:1] == ("session",) and len(credential) == 3:
            user, _stale = await websessions.session_user(credential[1], int(credential[2]), conn=conn,
                                                          now=svc.clock.now(), idle=IDLE, lifetime=LIFETIME)
            return user
    return None


def _same_access(a: UserInfo, b: UserInfo | None) -> bool:
    return b is not None and (a.id, a.role, tuple(sorted(a.teams))) == (b.id, b.role, tuple(sorted(b.teams)))


class StreamGuard:
    """Ends the broker's streams whose authorisation changed (see the module docstring)."""

    def __init__(self, broker: Any, svc: Any, *, every: float = 30.0) -> None:
        self.broker, self.svc, self.every = broker, svc, every
        self._task: asyncio.Task[None] | None = None
        self.closed = 0

    async def on_auth(self, msg: Any) -> None:
        """Control channel handler for ``auth`` messages (payload ``user_id``, None: anyone)."""
        uid = (msg.payload or {}).get("user_id")
        await self.recheck(uid if isinstance(uid, int) else None)

    async def recheck(self, user_id: int | None = None) -> int:
        """Re-check the streams of ``user_id`` (None: every stream); returns how many were ended."""
        subs = [s for s in list(self.broker.subscribers) if user_id is None or s.user.id == user_id]
        seen: dict[tuple[str, ...], UserInfo | None] = {}
        ended = 0
        for sub in subs:
            if sub.credential not in seen:
                seen[sub.credential] = await current_user(self.svc, sub.credential) if sub.credential else None
            if not _same_access(sub.user, seen[sub.credential]):
                self.broker.close(sub)
                ended += 1
                log.info("live_stream_ended", user=sub.user.name, reason="authorisation changed")
        self.closed += ended
        return ended

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.recheck()
            except Exception as e:  # noqa: BLE001 - the database may be briefly away
                log.warning("live_auth_recheck_failed", error=f"{type(e).__name__}: {e}")
