"""A short-lived, process-local memory of who a credential belongs to.

Without it every request would look its bearer token or web session up in the database (two or
three queries, a connection checkout and a rollback: about a third of the database round trips of
a queue page). The cache keeps the answer for ``ttl`` seconds (default 2), keyed by the token's
hash (bearer) or the session token's hash and user id (session). Only successful lookups are
remembered; a wrong token always reaches the database.

Staleness is bounded and local changes are immediate:
- every change this process makes to users, memberships, passwords, locales, tokens or sessions
  (login, logout, the admin's user pages, the language setting) calls ``clear()`` before it
  answers, so the next request of the same process sees the database again;
- a change made elsewhere (``social-inbox users revoke``, another instance) writes an ``auth``
  message on the control channel in its transaction (repo.accounts.auth_changed); every instance
  clears its cache when it reads it (inbox.ops.control: at once on PostgreSQL, within a second on
  SQLite). ``ttl = 0`` turns the cache off.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from inbox.domain.types import UserInfo

__all__ = ["AuthCache", "DEFAULT_TTL", "forget_all"]

DEFAULT_TTL = 2.0
MAX_ENTRIES = 10_000

Key = tuple[str, ...]


class AuthCache:
    """credential key -> (expiry on ``timer``, user). Not shared between processes."""

    def __init__(self, ttl: float = DEFAULT_TTL, *, timer: Callable[[], float] = time.monotonic,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.timer = timer
        self.max_entries = max_entries
        self._entries: dict[Key, tuple[float, UserInfo]] = {}

    def get(self, key: Key) -> UserInfo | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        if hit[0] <= self.timer():
            del self._entries[key]
            return None
        return hit[1]

    def put(self, key: Key, user: UserInfo) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded: a flood of distinct tokens cannot grow it
        self._entries[key] = (self.timer() + self.ttl, user)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def forget_all(app: web.Application) -> None:
    """Drop every remembered credential of this process: call after changing users or tokens."""
    from inbox.web.keys import AUTH_CACHE
    cache = app.get(AUTH_CACHE)
    if cache is not None:
        cache.clear()
