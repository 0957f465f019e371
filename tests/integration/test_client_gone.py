"""A client that disconnects while its request body is being read is not a server error: the
problem middleware logs ``client_gone`` (no ``unhandled_error``, no 500 problem), over real HTTP."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from inbox.web.problems import problem_middleware


async def test_a_client_gone_mid_body_is_not_an_unhandled_error(capfd: pytest.CaptureFixture[str]) -> None:
    read_started = asyncio.Event()
    finished = asyncio.Event()

    async def slow_body(request: web.Request) -> web.Response:
        read_started.set()
        try:
            await request.read()
        finally:
            finished.set()
        return web.json_response({})

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_post("/api/v1/x", slow_body)
    # run as inbox.web.server runs it (aiohttp's TestServer cancels the handler on a disconnect
    # instead, so the read never fails)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", runner.addresses[0][1])
        writer.write(b"POST /api/v1/x HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"a\": 1")
        await writer.drain()
        await asyncio.wait_for(read_started.wait(), 5)
        writer.close()
        await asyncio.wait_for(finished.wait(), 5)
        await asyncio.sleep(0.05)
    finally:
        await runner.cleanup()
    out = "".join(capfd.readouterr())  # the service's structlog lines
    assert "client_gone" in out and "unhandled_error" not in out, out
