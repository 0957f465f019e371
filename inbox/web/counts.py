"""Queue counts for display (page headers, the queue list, GET /api/v1/queues), shared by the requests
of one process. The counts walk a queue's whole index range (tens of ms with hundreds of thousands of
open items), and with ingest running the items change many times a second: counting per request, or
after every change, was most of the database's work. Claims and item lists never use these: they
always read the database.

How fresh a served value is, per key (one process, single flight: at most one read per key at once):
- no item changed since its read began: served for ``ttl`` seconds, then served while one
  background read replaces it (the overdue count and the oldest item's age move with time alone);
- items changed since (:meth:`CountsCache.changed`, from the live broker): served, marked *behind*,
  and one background read starts once ``gap`` seconds have passed since the last one began; so
  while items keep changing each key is read about once per ``gap``, and what is served misses
  changes of the last ``gap`` seconds or so. A change older than ``max_lag`` is never missed: such a
  request waits for a read begun after it (only after a quiet spell, or when reads are very slow).

A page that shows counts marks itself when they are behind (:func:`behind`); the browser's live
refresh then fetches it once more a second later, so the counts on screen catch up within about a
second of a change even if nothing changes afterwards."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web

from inbox.storage.engine import read_conn
from inbox.storage.repo import page_reads
from inbox.web.keys import SERVICES

__all__ = ["CountsCache", "COUNTS", "TTL_SECONDS", "GAP_SECONDS", "MAX_LAG_SECONDS", "overview", "team_counts",
           "behind"]

TTL_SECONDS = 1.0
GAP_SECONDS = 1.0
MAX_LAG_SECONDS = 2.0
# on a request: a count served to it may miss a recent change
BEHIND = web.RequestKey("counts_behind", bool)

log = structlog.get_logger(__name__)


@dataclass
class _Value:
    value: Any
    read_at: float                 # when the read that produced it began
    changed_at: float | None       # the first item change since then (maybe not in ``value``)


@dataclass
class _Read:
    started: float
    background: bool
    changed_at: float | None = None
    future: asyncio.Future[Any] | None = None


@dataclass
class CountsCache:
    ttl: float = TTL_SECONDS
    gap: float = GAP_SECONDS
    max_lag: float = MAX_LAG_SECONDS
    clock: Callable[[], float] = time.monotonic
    _values: dict[str, _Value] = field(default_factory=dict)
    _reads: dict[str, _Read] = field(default_factory=dict)

    async def get(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        """The value for ``key`` (see the module's docstring for how fresh)."""
        return (await self.read(key, load))[0]

    async def read(self, key: str, load: Callable[[], Awaitable[Any]]) -> tuple[Any, bool]:
        """``(value, behind)``: ``behind`` is true when items changed since the value's read began."""
        now = self.clock()
        hit = self._values.get(key)
        if hit is None:  # never read: everyone waits for the one read
            return await self._fresh(key, load, since=None)
        if hit.changed_at is None:
            if now >= hit.read_at + self.ttl:
                self._refresh(key, load)
            return hit.value, False
        if now - hit.changed_at >= self.max_lag:
            return await self._fresh(key, load, since=hit.changed_at)
        if now - hit.read_at >= self.gap:
            self._refresh(key, load)
        return hit.value, True

    def changed(self) -> None:
        """Items changed: every value read so far, and every read under way, may miss the change."""
        now = self.clock()
        for v in self._values.values():
            if v.changed_at is None:
                v.changed_at = now
        for r in self._reads.values():
            if r.changed_at is None:
                r.changed_at = now

    async def _fresh(self, key: str, load: Callable[[], Awaitable[Any]], since: float | None) -> tuple[Any, bool]:
        """Wait for a read of ``key`` begun at or after ``since`` (any read if None): the one under
        way if it qualifies, else a new one."""
        r = self._reads.get(key)
        if r is None or (since is not None and r.started < since):
            r = self._start(key, load, background=False)
        assert r.future is not None
        value = await asyncio.shield(r.future)
        return value, r.changed_at is not None

    def _refresh(self, key: str, load: Callable[[], Awaitable[Any]]) -> None:
        if key not in self._reads:
            self._start(key, load, background=True)

    def _start(self, key: str, load: Callable[[], Awaitable[Any]], *, background: bool) -> _Read:
        r = _Read(started=self.clock(), background=background)

        async def run() -> Any:
            try:
                value = await load()
            finally:
                if self._reads.get(key) is r:
                    del self._reads[key]
            held = self._values.get(key)
            if held is None or held.read_at <= r.started:  # a later read's value is not replaced
                self._values[key] = _Value(value, r.started, r.changed_at)
            return value
        r.future = asyncio.ensure_future(run())
        r.future.add_done_callback(lambda f: self._done(r, f))
        self._reads[key] = r
        return r

    @staticmethod
    def _done(r: _Read, f: asyncio.Future[Any]) -> None:
        if f.cancelled():
            return
        error = f.exception()  # retrieved here, so an unawaited failure is not reported by asyncio
        if error is not None and r.background:
            log.warning("counts_refresh_failed", error=f"{type(error).__name__}: {error}")


COUNTS = web.AppKey("counts_cache", CountsCache)


async def _cached(request: web.Request, key: str, query: Callable[[Any, Any], Awaitable[Any]]) -> Any:
    """``query(conn, now)`` through the process's cache, on a read connection."""
    svc = request.app[SERVICES]

    async def load() -> Any:
        async with read_conn(svc.engine) as conn:
            return await query(conn, svc.clock.now())
    value, late = await request.app[COUNTS].read(key, load)
    if late:
        request[BEHIND] = True
    return value


def behind(request: web.Request) -> bool:
    """Whether counts served to ``request`` may miss a change of the last second or two."""
    return bool(request.get(BEHIND, False))


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
