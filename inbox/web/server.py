"""Runs the app until SIGINT/SIGTERM."""
from __future__ import annotations

import asyncio
import signal

import structlog
from aiohttp import web

from inbox.settings import Settings
from inbox.web.app import create_app

__all__ = ["run_server"]

log = structlog.get_logger(__name__)


async def run_server(settings: Settings, *, host: str, port: int, role: str = "all",
                     ready: asyncio.Event | None = None) -> None:
    app = create_app(settings, role=role)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    log.info("serving", url=f"http://{host}:{port}", role=role)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover
            pass
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        log.info("shutting_down")
        await runner.cleanup()
