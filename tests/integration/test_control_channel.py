"""The control channel (inbox/ops/control.py): a message written in one process's transaction is
heard by every running instance, on SQLite (by reading the table) and PostgreSQL (NOTIFY wakes it);
a rolled-back change is never heard; a `serve --role worker` instance classifies with a model
promoted from the CLI within 5 seconds."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from inbox.ops.control import SETTINGS, ControlMessage, send
from inbox.ops.services import Services
from inbox.settings import load_settings
from inbox.storage import migrate
from tests.conftest import ROOT

SI = str(Path(sys.executable).parent / "social-inbox")


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_for(pred: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_message_reaches_another_instance_once_and_a_rollback_never(db_url: str, settings_factory: Any,
                                                                            clock: Any) -> None:
    """Instance B hears A's committed message exactly once (and its own), never a rolled-back one."""
    settings = settings_factory(db_url)
    a = await Services.open(settings, clock=clock)
    b = await Services.open(settings, clock=clock)
    try:
        await migrate.upgrade(a.engine)
        await b.start_background()
        assert b.control is not None
        heard: list[ControlMessage] = []
        b.control.on(SETTINGS, heard.append)
        with pytest.raises(RuntimeError):
            async with a.engine.begin() as conn:
                await send(SETTINGS, {"section": "rolled-back"}, conn=conn, now=clock.now(), origin="a")
                raise RuntimeError("rolled back")
        async with a.engine.begin() as conn:
            await send(SETTINGS, {"section": "rules"}, conn=conn, now=clock.now(), origin="a")
        await _wait_for(lambda: heard, 5)
        async with b.engine.begin() as conn:
            await send(SETTINGS, {"section": "teams"}, conn=conn, now=clock.now(), origin=b.owner)
        await _wait_for(lambda: len(heard) == 2, 5)
        await asyncio.sleep(1.5)  # a later read of the table must not hand anything over twice
        assert [(m.payload["section"], m.origin) for m in heard] == [("rules", "a"), ("teams", b.owner)]
    finally:
        await a.close()
        await b.close()


async def test_an_instance_starts_after_the_history(db_url: str, settings_factory: Any, clock: Any) -> None:
    """Messages sent before an instance started are not replayed to it."""
    settings = settings_factory(db_url)
    a = await Services.open(settings, clock=clock)
    try:
        await migrate.upgrade(a.engine)
        async with a.engine.begin() as conn:
            await send(SETTINGS, {"section": "old"}, conn=conn, now=clock.now())
        await a.start_background()
        assert a.control is not None
        heard: list[ControlMessage] = []
        a.control.on(SETTINGS, heard.append)
        assert await a.control.check() == 0
        assert heard == []
    finally:
        await a.close()


def _feed(entries: list[tuple[str, str]]) -> str:
    now = format_datetime(datetime.now(UTC))
    items = "".join(f"<item><guid>{guid}</guid><title>{title}</title><description>{title}</description>"
                    f"<link>https://example.com/{guid}</link><pubDate>{now}</pubDate></item>"
                    for guid, title in entries)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


@pytest.mark.postgres
async def test_a_worker_classifies_with_a_model_promoted_from_the_cli_within_5_s(pg_db_url: str,
                                                                                tmp_path: Path) -> None:
    """`serve --role worker` polls a feed; after `model promote` from the CLI, every mention it
    fetches from 5 s on carries the new model's version in its routing decision."""
    entries: list[tuple[str, str]] = [("e0", "My order never arrived, please help")]

    async def feed(_request: web.Request) -> web.Response:
        return web.Response(text=_feed(entries), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    feed_server = TestServer(app, host="127.0.0.1")  # the same replay server the other poll tests use
    await feed_server.start_server()
    port = feed_server.port
    base = (ROOT / "config" / "inbox.toml").read_text(encoding="utf-8").split("[[connectors]]")[0]
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(base + f'''
[[connectors]]
name = "feed"
type = "rss"
feeds = ["http://127.0.0.1:{port}/feed.xml"]
interval = "1s"
allow_private_hosts = true
''', encoding="utf-8")
    env = {**os.environ, "INBOX_CONFIG": str(cfg), "INBOX_DATABASE_URL": pg_db_url,
           "INBOX_MODEL_DIR": str(tmp_path / "models"), "INBOX_REFINER__ENABLED": "false"}

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(subprocess.run, [SI, *args], capture_output=True, text=True, env=env,
                                       timeout=300, cwd=ROOT)

    assert (await cli("init")).returncode == 0
    svc = await Services.open(load_settings(cfg, {"database_url": pg_db_url, "model_dir": str(tmp_path / "models")}))
    worker = None
    try:
        from inbox.storage.repo import model_versions
        from routing_models.registry import load, save
        async with svc.engine.connect() as conn:
            active = await model_versions.active_version(conn=conn)
        assert active is not None
        model = load(Path(active["path"]))
        model.metadata["version"] = new_version = "m-reload-test"
        new_path = save(model, tmp_path / "models", name=new_version)
        async with svc.engine.begin() as conn:
            await model_versions.register(new_version, str(new_path), dict(model.metadata), conn=conn,
                                          now=svc.clock.now())

        async def versions() -> dict[str, tuple[str, Any]]:
            async with svc.engine.connect() as conn:
                rows = await conn.execute(text(
                    "SELECT m.external_id, d.model_version, m.fetched_at FROM mention m "
                    "JOIN routing_decision d ON d.mention_id = m.id"))
                return {r[0].rsplit("/", 1)[-1]: (r[1], r[2]) for r in rows}  # the guid resolves against the feed URL

        log = tmp_path / "worker.log"
        # its own free port: the default 8080 may be taken by a demo or another instance on this machine
        worker = await asyncio.create_subprocess_exec(SI, "serve", "--role", "worker", "--port", str(_free_port()),
                                                      env=env, cwd=ROOT,
                                                      stdout=subprocess.DEVNULL, stderr=log.open("w"))
        deadline = time.monotonic() + 90
        while "e0" not in (seen := await versions()):
            assert worker.returncode is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the worker never polled the feed: " + log.read_text()[-2000:]
            await asyncio.sleep(0.3)
        assert seen["e0"][0] == active["version"]

        promoted = await cli("model", "promote", new_version, "--force")
        assert promoted.returncode == 0, promoted.stderr
        t0 = svc.clock.now()
        for k in range(1, 17):  # a new mention every 0.5 s for 8 s after the promotion
            entries.append((f"e{k}", f"Still no refund for order {k}, please help"))
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # the last ones are polled
        seen = await versions()
        after = sorted((at, v) for k, (v, at) in seen.items() if k != "e0")
        assert after, "the worker polled nothing after the promotion"
        first_new = next((at for at, v in after if v == new_version), None)
        assert first_new is not None, f"never classified with the promoted model: {after}"
        assert (first_new - t0).total_seconds() <= 5
        assert {v for at, v in after if at >= first_new} == {new_version}
        assert any((at - t0).total_seconds() >= 5 for at, _ in after)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(worker.wait(), 20)
            except TimeoutError:
                worker.kill()
        await svc.close()
        await feed_server.close()
