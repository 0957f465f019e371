"""Queue counts for display (page headers, the queue list, GET /api/v1/queues), shared for up to a
second by the requests of one process. The counts walk a queue's whole index range (tens of ms with
hundreds of thousands of open items); under a burst, per-request counting was most of the database's
work. Claims and item lists never use these: they always read the database.

Stale while revalidating, single flight: a request that finds the value expired gets it at once
and starts one background reload; nobody queues for a pooled connection (which writers waiting for
SQLite's lock may hold) to count. Only the first request for a key ever waits."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web

from inbox.storage.engine import reader
from inbox.storage.repo import page_reads
from inbox.web.keys import SERVICES

__all__ = ["CountsCache", "COUNTS", "TTL_SECONDS", "overview", "team_counts"]

TTL_SECONDS = 1.0

log = structlog.get_logger(__name__)


@dataclass
class CountsCache:
    ttl: float = TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _values: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _refreshing: set[str] = field(default_factory=set)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    _loading: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    _generation: int = 0

    async def get(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        """The value for ``key``. Fresh: returned. Expired: returned as is while one background
        task reloads it (stale while revalidating). Missing (never read, or items changed since,
        see :meth:`forget`): read once, every request for it waiting on that one read."""
        hit = self._values.get(key)
        if hit is None:
            pending = self._loading.get(key)
            if pending is None:
                pending = asyncio.ensure_future(self._load(key, load))
                self._loading[key] = pending
                pending.add_done_callback(lambda f: self._loading.pop(key) if self._loading.get(key) is f else None)
            return await asyncio.shield(pending)
        if hit[0] <= self.clock() and key not in self._refreshing:
            self._refreshing.add(key)  # now, so the next request starts no second reload
            task = asyncio.get_running_loop().create_task(self._load(key, load))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return hit[1]

    def forget(self) -> None:
        """Items changed: the next request of each key reads the database instead of getting the
        value from before the change, so the counts next to a list that a live update refreshes
        agree with it. A read already running when the change came is not kept."""
        self._generation += 1
        self._values.clear()
        self._loading.clear()

    async def _load(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        generation = self._generation
        try:
            value = await load()
        finally:
            self._refreshing.discard(key)
        if generation == self._generation:
            self._values[key] = (self.clock() + self.ttl, value)
        return value

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("counts_refresh_failed", error=f"{type(task.exception()).__name__}: {task.exception()}")


COUNTS = web.AppKey("counts_cache", CountsCache)


async def _cached(request: web.Request, key: str, query: Callable[[Any, Any], Awaitable[Any]]) -> Any:
    """``query(conn, now)`` through the process's cache, on the engine's reader."""
    svc = request.app[SERVICES]

    async def load() -> Any:
        async with reader(svc.engine).connect() as conn:
            return await query(conn, svc.clock.now())
    return await request.app[COUNTS].get(key, load)


async def overview(request: web.Request) -> dict[str, dict[str, Any]]:
    """Every team's open, new and overdue counts and oldest open item's creation time."""
    value: dict[str, dict[str, Any]] = await _cached(
        request, "overview", lambda conn, now: page_reads.queue_overview(conn=conn, now=now))
    return value


async def team_counts(request: web.Request, team: str) -> dict[str, Any]:
    """One queue's counts (a page header)."""
    value: dict[str, Any] = await _cached(
        request, f"team:{team}", lambda conn, now: page_reads.team_counts(team, conn=conn, now=now))
    return value
