"""PostgreSQL LISTEN for the whole process: one dedicated asyncpg connection on which any component
subscribes a callback to a channel (item changes for the live pages, the control channel for every
role). It reconnects with back-off; ``on_connect`` callbacks run after every (re)connection, so a
subscriber can re-read what it may have missed while the link was down. On SQLite there is nothing
to listen to: ``start`` does nothing and subscribers rely on their own periodic re-reads."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import structlog
from sqlalchemy.engine import make_url

__all__ = ["PgListener"]

log = structlog.get_logger(__name__)

Callback = Callable[[str], None]
"""Called on the event loop with the notification's payload; must not block."""


class PgListener:
    def __init__(self, database_url: str, *, ping_every: float = 5.0) -> None:
        url = make_url(database_url)
        self.enabled = url.get_backend_name() == "postgresql"
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False) if self.enabled else ""
        self.ping_every = ping_every
        self.connected = asyncio.Event()
        self._channels: dict[str, list[Callback]] = {}
        self._on_connect: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._conn: Any = None
        self._listening: set[str] = set()  # channels LISTENed on self._conn
        self._use = asyncio.Lock()  # one operation at a time on the connection

    async def subscribe(self, channel: str, callback: Callback) -> None:
        """Hear ``channel`` from now on (and after every reconnection)."""
        self._channels.setdefault(channel, []).append(callback)
        async with self._use:  # after a connection in progress has taken the channels it knew of
            await self._listen_to_all()

    async def _listen_to_all(self) -> None:
        """LISTEN on every subscribed channel not yet heard on the current connection (holding ``_use``)."""
        if self._conn is None:
            return  # the next connection listens to them all
        for channel in list(self._channels):
            if channel not in self._listening:
                await self._conn.add_listener(channel, self._deliver)
                self._listening.add(channel)

    def on_connect(self, callback: Callable[[], None]) -> None:
        self._on_connect.append(callback)

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _deliver(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        for cb in self._channels.get(channel, ()):
            try:
                cb(payload)
            except Exception:  # noqa: BLE001 - one subscriber's bug must not deafen the others
                log.exception("listener_callback_failed", channel=channel)

    async def _run(self) -> None:
        delay = 0.5
        while not self._closed:
            conn = None
            try:
                conn = await asyncpg.connect(self._dsn)
                async with self._use:
                    self._conn, self._listening = conn, set()
                    await self._listen_to_all()
                self.connected.set()
                delay = 0.5
                for cb in self._on_connect:
                    cb()
                while not self._closed:
                    await asyncio.sleep(self.ping_every)
                    async with self._use:
                        await asyncio.wait_for(conn.fetchval("SELECT 1"), 10)  # is the link alive?
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - reconnect with back-off
                self.connected.clear()
                log.warning("listen_lost", error=f"{type(e).__name__}: {e}", retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
            finally:
                self._conn = None
                if conn is not None:
                    try:
                        await asyncio.wait_for(conn.close(), 2)
                    except Exception:  # noqa: BLE001
                        conn.terminate()
