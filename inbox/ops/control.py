"""The service's control channel: what every instance, whatever its role (web, worker, all), must
hear about itself. Senders write a message in the transaction of the change it announces (a model
promoted from the CLI or the admin page, settings changed, a user's access changed), so it is
heard exactly when the change is visible. Each instance reads the messages newer than the last it
saw: at once when PostgreSQL's NOTIFY wakes it, otherwise every ``poll_every`` seconds (SQLite,
where the CLI and the server are separate processes, or a notification lost while the listening
connection was down). A message is handled once per instance, including by its sender.

Kinds: ``model`` (reload the promoted model), ``settings`` (payload names what changed),
``auth`` (payload may name ``user_id``; credential caches forget, open streams re-check)."""
from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbox.storage.engine import reader
from inbox.storage.listener import PgListener
from inbox.storage.repo import control
from inbox.storage.repo.control import AUTH, MODEL, SETTINGS, ControlMessage

__all__ = ["ControlChannel", "ControlMessage", "MODEL", "SETTINGS", "AUTH", "send"]

log = structlog.get_logger(__name__)

Handler = Callable[[ControlMessage], Awaitable[None] | None]


async def send(kind: str, payload: dict[str, Any] | None = None, *, conn: AsyncConnection, now: datetime,
               origin: str = "") -> int:
    """Announce ``kind`` to every instance, in the caller's transaction (heard once it commits)."""
    return await control.publish(kind, payload, conn=conn, now=now, origin=origin)


class ControlChannel:
    """Reads the control channel for one instance and runs the handlers registered per kind."""

    def __init__(self, engine: AsyncEngine, listener: PgListener | None = None, *, poll_every: float = 1.0) -> None:
        self.engine = engine
        self.listener = listener
        self.poll_every = poll_every
        self.last_id = 0
        self._handlers: dict[str, list[Handler]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def on(self, kind: str, handler: Handler) -> None:
        """Run ``handler(message)`` for every message of ``kind`` from now on."""
        self._handlers.setdefault(kind, []).append(handler)

    async def start(self) -> None:
        """Begin after the newest message (history is not replayed), then follow the channel."""
        async with reader(self.engine).connect() as conn:
            self.last_id = await control.latest_id(conn=conn)
        if self.listener is not None:
            await self.listener.subscribe(control.CHANNEL, lambda _payload: self._wake.set())
            self.listener.on_connect(self._wake.set)
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def check(self) -> int:
        """Handle every message newer than the last one seen; returns how many."""
        async with self._lock:
            async with reader(self.engine).connect() as conn:
                messages = await control.after(self.last_id, conn=conn)
            for msg in messages:
                self.last_id = msg.id
                await self._dispatch(msg)
            return len(messages)

    async def _dispatch(self, msg: ControlMessage) -> None:
        for handler in self._handlers.get(msg.kind, ()):
            try:
                result = handler(msg)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - a failing handler must not stop the channel
                log.exception("control_handler_failed", kind=msg.kind, control_id=msg.id)
        log.info("control_message", kind=msg.kind, control_id=msg.id, origin=msg.origin)

    async def _follow(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_every)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.check()
            except Exception as e:  # noqa: BLE001 - the database may be briefly away
                log.warning("control_check_failed", error=f"{type(e).__name__}: {e}")
