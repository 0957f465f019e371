"""Live updates: item changes fanned out to the browsers' server-sent-event streams, each
client hearing only about the items its user may see (and never their text).

Where changes come from:
- in-process: the Broker is one of ``svc.listeners``, called with item ids after each committed
  ingest batch or item change in this process (the SQLite deployment's only path);
- PostgreSQL: ``LISTEN inbox_items`` on the process's listening connection (``svc.listener``),
  so changes committed by other instances (and by worker processes) arrive too. Writers call :func:`notify_pg` inside
  their transaction: PostgreSQL delivers the notification only if it commits;
- a periodic re-check of the event log tail (every change writes an audit event; a primary-key
  range scan) covers notifications lost while the listening connection was down, and writes by
  other processes on SQLite (``social-inbox import`` next to a running server).

Duplicates from several paths are dropped: each item is dispatched once per version (its latest
event id). Publishing is coalesced over a short window so a burst becomes one query."""
from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import structlog
from aiohttp import web

from inbox.domain.types import UserInfo
from inbox.storage.engine import reader
from inbox.storage.listener import PgListener
from inbox.storage.repo import page_reads
from inbox.web.counts import COUNTS
from inbox.web.keys import BUS, SERVICES
from inbox.web.live_auth import StreamGuard
from inbox.web.notify_live import NoticeFeed, tell_unread

__all__ = ["Broker", "notify_pg", "CHANNEL", "sse_handler", "live_ctx", "visible_to"]

log = structlog.get_logger(__name__)

from inbox.storage.repo.pubsub import CHANNEL, MAX_PAYLOAD, READ_CHANNEL, RECHECK_ALL, notify_pg  # noqa: E402,F401


def visible_to(user: UserInfo, state: dict[str, Any], private: set[str]) -> bool:
    """The same rule as the item queries: admins all; members of the owning team; members of a
    watching team unless the owning team is private."""
    if user.is_admin or state["team"] in user.teams:
        return True
    if state["team"] in private:
        return False
    return bool(set(user.teams) & set(state.get("watchers") or []))


@dataclass(eq=False)
class Subscriber:
    user: UserInfo
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    dropped: bool = False
    credential: tuple[str, ...] = ()   # what authorised the stream (inbox.web.live_auth re-checks it)
    locale: str = "en"                 # the language of the notifications' text on this stream


class Broker:
    """Fans out item changes to SSE subscribers, filtered per user."""

    def __init__(self, svc: Any, *, window: float = 0.05, recheck_every: float = 5.0, after_gap: float = 0.5) -> None:
        self.svc = svc
        self.window = window
        self.recheck_every = recheck_every
        self.after_gap = after_gap  # the after_dispatch hooks run at most once per after_gap seconds
        self._after_wanted = False
        self._after_at = float("-inf")  # loop time the hooks last started
        self._after_task: asyncio.Task[None] | None = None
        self.subscribers: set[Subscriber] = set()
        self._pending: set[int] = set()
        self._flush_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._sent: OrderedDict[int, int] = OrderedDict()   # item id -> last dispatched version
        self._last_event = 0
        self._closed = False
        self._recheck_now = asyncio.Event()
        self.dispatched = 0
        self.on_change: list[Callable[[], None]] = []  # told of every change first (the counts cache)
        # run after dispatches and re-checks, at most once per after_gap (inbox.web.notify_live: notifications)
        self.after_dispatch: list[Callable[[], Awaitable[None]]] = []

    # intake ------------------------------------------------------------------------------
    def publish(self, ids: Iterable[int]) -> None:
        """Called (synchronously) with changed item ids; coalesced and dispatched shortly after."""
        if self._closed:
            return
        ids = [int(i) for i in ids]
        if ids:
            for hook in self.on_change:
                hook()
        self._pending.update(ids)
        if self._pending and (self._flush_task is None or self._flush_task.done()):
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.window)
        while self._pending:
            ids, self._pending = sorted(self._pending), set()
            try:
                await self._dispatch(ids)
            except Exception:  # noqa: BLE001 - a failed fan-out must not kill the broker
                log.exception("live_dispatch_failed", count=len(ids))
            self._after()

    def _after(self) -> None:
        """Run the after_dispatch hooks soon: at once if they last started ``after_gap`` seconds ago
        or more, else when that much time has passed, once for all the dispatches meanwhile (with
        ingest running the broker dispatches many times a second; each run of the hooks reads the
        database)."""
        self._after_wanted = True
        if self._after_task is None or self._after_task.done():
            self._after_task = asyncio.get_running_loop().create_task(self._after_loop())

    async def _after_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._after_wanted and not self._closed:
            wait = self._after_at + self.after_gap - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._after_wanted = False
            self._after_at = loop.time()
            await self._run_after()

    async def _run_after(self) -> None:
        for hook in self.after_dispatch:
            try:
                await hook()
            except Exception:  # noqa: BLE001 - nor a failed follower
                log.exception("live_after_dispatch_failed")

    async def _dispatch(self, ids: list[int]) -> None:
        if not self.subscribers:
            return
        states: list[dict[str, Any]] = []
        async with reader(self.svc.engine).connect() as conn:
            for i in range(0, len(ids), 500):
                states.extend(await page_reads.item_states(ids[i:i + 500], conn=conn))
        fresh = []
        for s in states:
            v = int(s["version"] or 0)
            if self._sent.get(s["id"]) == v:
                continue
            self._sent[s["id"]] = v
            self._sent.move_to_end(s["id"])
            fresh.append(s)
        while len(self._sent) > 100_000:
            self._sent.popitem(last=False)
        if not fresh:
            return
        private = self.svc.settings.private_teams
        for sub in list(self.subscribers):
            mine = [{"id": s["id"], "team": s["team"], "status": s["status"], "assignee": s["assignee"],
                     "v": int(s["version"] or 0)} for s in fresh if visible_to(sub.user, s, private)]
            if not mine:
                continue
            self.send(sub, "event: items\ndata: " + json.dumps({"items": mine}, separators=(",", ":")) + "\n\n")
        self.dispatched += len(fresh)

    def send(self, sub: Subscriber, msg: str) -> None:
        """Queue one server-sent event for ``sub``."""
        try:
            sub.queue.put_nowait(msg)
        except asyncio.QueueFull:  # a stuck client: drop it, its EventSource reconnects
            sub.dropped = True
            self.subscribers.discard(sub)
            sub.queue.put_nowait(None) if not sub.queue.full() else None

    # subscribers ---------------------------------------------------------------------------
    def subscribe(self, user: UserInfo, credential: tuple[str, ...] = (), locale: str = "en") -> Subscriber:
        sub = Subscriber(user, credential=credential, locale=locale)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def close(self, sub: Subscriber) -> None:
        """End ``sub``'s stream now (its handler returns; the browser reconnects and is authorised again)."""
        self.subscribers.discard(sub)
        while True:
            try:
                sub.queue.put_nowait(None)
                return
            except asyncio.QueueFull:  # make room: nothing queued may be sent after the end
                sub.queue.get_nowait()

    # background ----------------------------------------------------------------------------
    async def start(self) -> None:
        async with reader(self.svc.engine).connect() as conn:
            self._last_event = await page_reads.max_event_id(conn=conn)
        self._tasks.append(asyncio.get_running_loop().create_task(self._recheck_loop()))

    async def attach(self, listener: PgListener) -> None:
        """Hear other instances' changes (PostgreSQL), and re-check the event log after every
        (re)connection of the listener for what was committed while it was away."""
        await listener.subscribe(CHANNEL, self.on_items_notify)
        await listener.subscribe(READ_CHANNEL, self.on_read_notify)
        listener.on_connect(self._recheck_now.set)
        if listener.connected.is_set():
            self._recheck_now.set()

    async def recheck(self) -> int:
        """Publish items whose events are newer than the last one seen; returns how many."""
        n = 0
        async with reader(self.svc.engine).connect() as conn:
            while True:
                rows = await page_reads.events_after(self._last_event, conn=conn)
                if not rows:
                    break
                self._last_event = rows[-1][0]
                ids = {item for _, item in rows if item is not None}
                n += len(ids)
                self.publish(ids)
                if len(rows) < 5000:
                    break
        return n

    async def _recheck_loop(self) -> None:
        while not self._closed:
            try:
                await asyncio.wait_for(self._recheck_now.wait(), self.recheck_every)
            except TimeoutError:
                pass
            self._recheck_now.clear()
            try:
                await self.recheck()
            except Exception as e:  # noqa: BLE001 - the database may be briefly away
                log.warning("live_recheck_failed", error=f"{type(e).__name__}: {e}")
            self._after()

    def on_read_notify(self, payload: str) -> None:
        """A NOTIFY that a user read notifications (on any instance): their streams here hear the
        unread count they have left."""
        try:
            data = json.loads(payload)
            user_id, unread = int(data["u"]), int(data["n"])
        except (ValueError, TypeError, KeyError):
            log.warning("live_read_payload_bad", payload=payload[:100])
            return
        tell_unread(self, user_id, unread)

    def on_items_notify(self, payload: str) -> None:
        """A NOTIFY on the item channel: the changed ids, or "*" (re-check the event log)."""
        try:
            ids = json.loads(payload)
        except ValueError:
            ids = None
        if isinstance(ids, list) and all(isinstance(i, int) for i in ids):
            self.publish(ids)
        else:
            self._recheck_now.set()

    async def shutdown(self) -> None:
        """End every stream (so the server can stop) and the background tasks."""
        self._closed = True
        for sub in list(self.subscribers):
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass
        self.subscribers.clear()
        for t in self._tasks + [t for t in (self._flush_task, self._after_task) if t is not None]:
            t.cancel()
        await asyncio.gather(*self._tasks, *[t for t in (self._flush_task, self._after_task) if t is not None],
                             return_exceptions=True)
        self._tasks.clear()


async def sse_handler(request: web.Request) -> web.StreamResponse:
    """GET /live: text/event-stream of ``items`` events for the signed-in user."""
    from inbox.web.authn import require_user
    user = require_user(request)
    broker = cast(Broker, request.app[BUS])
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    from inbox.web.i18n import negotiate
    from inbox.web.keys import CREDENTIAL
    sub = broker.subscribe(user, request.get(CREDENTIAL, ()),
                           negotiate(user.locale, request.headers.get("Accept-Language")))
    try:
        await resp.write(b"retry: 3000\n: connected\n\n")
        while True:
            try:
                msg = await asyncio.wait_for(sub.queue.get(), 15)
            except TimeoutError:
                msg = ": keep-alive\n\n"
            if msg is None:
                break
            await resp.write(msg.encode())
    except ConnectionResetError:  # the browser went away
        pass
    finally:
        broker.unsubscribe(sub)
    return resp


async def live_ctx(app: web.Application) -> AsyncIterator[None]:
    """One Broker per app: subscribed to the service's listeners, with its background tasks."""
    svc = app[SERVICES]
    broker = Broker(svc)
    app[BUS] = broker  # type: ignore[misc]  # BUS is declared as AppKey[Any] in keys.py
    svc.listeners.append(broker.publish)
    if COUNTS in app:  # counts shown next to a list refreshed by this change are read again soon
        broker.on_change.append(app[COUNTS].changed)
    feed = NoticeFeed(broker, svc)
    await feed.start()
    broker.after_dispatch.append(feed.push)
    await broker.start()
    if svc.listener is not None:
        await broker.attach(svc.listener)
    guard = StreamGuard(broker, svc)
    if svc.control is not None:
        from inbox.ops.control import AUTH
        svc.control.on(AUTH, guard.on_auth)  # streams end within a second of a change of access
    guard.start()
    yield
    await guard.stop()
    if broker.publish in svc.listeners:
        svc.listeners.remove(broker.publish)
    await broker.shutdown()
