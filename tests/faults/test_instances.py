"""Several instances on one PostgreSQL: `social-inbox import` processes over overlapping shards are
SIGKILLed at random and restarted, and PostgreSQL itself is restarted under them; afterwards
nothing is lost and nothing is doubled."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_ADMIN_DSN
from tests.faults.conftest import INSTANCE_MENTIONS, INSTANCES, PG_RESTARTS
from tests.faults.harness import pg_cluster
from tests.faults.scenarios import instances_under_fire

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]


async def test_instances_killed_and_postgres_restarted_lose_and_double_nothing(pg_db_url: str,
                                                                               tmp_path: Path) -> None:
    """3 instances, random SIGKILLs, a PostgreSQL restart mid-load: 0 lost, 0 doubled, PostgreSQL up after."""
    pg = pg_cluster(PG_ADMIN_DSN)
    # CI size: kills every 1.5-4 s rather than 5-15 s, so that a short load still sees several
    report = await instances_under_fire(pg_db_url, tmp_path, mentions=INSTANCE_MENTIONS, instances=INSTANCES,
                                        kill_every=(1.5, 4.0), pg=pg, pg_restarts=PG_RESTARTS, deadline=600)
    assert pg.is_ready(), "PostgreSQL was left down"
    assert report.pg_restarts == PG_RESTARTS, report.events
    assert report.kills >= 2, report.events
    assert {k: report.ledger[k] for k in ("lost", "extra", "doubled", "orphans")} == \
        {"lost": 0, "extra": 0, "doubled": 0, "orphans": 0}, report.as_dict()
    assert report.ledger["mentions"] == report.ledger["items"] == INSTANCE_MENTIONS


async def test_concurrent_overlapping_ingest_never_deadlocks(pg_db_url: str, tmp_path: Path) -> None:
    """3 instances importing overlapping shards at once, no faults: no instance fails (no deadlock), all stored once."""
    report = await instances_under_fire(pg_db_url, tmp_path, mentions=INSTANCE_MENTIONS * 2, instances=INSTANCES,
                                        kill_every=None, batch_size=500, deadline=600)
    assert report.failed_exits == 0, report.events
    assert {k: report.ledger[k] for k in ("lost", "extra", "doubled", "orphans")} == \
        {"lost": 0, "extra": 0, "doubled": 0, "orphans": 0}, report.as_dict()


async def test_serve_lives_through_a_postgres_restart_and_keeps_polling(pg_db_url: str, tmp_path: Path) -> None:
    """A running `serve` keeps its process, answers health again and ingests new items after PostgreSQL restarts."""
    import aiohttp
    from aiohttp.test_utils import TestServer

    from connectors.replay import REPLAY_STORE, SAMPLES_DIR, create_replay_app
    from connectors.testing import fresh_items
    from inbox.settings import load_settings
    from tests.faults.harness import free_port, ledger, pg_guard, prepare_database, spawn, wait_for, write_config
    from tests.faults.scenarios import connectors_toml

    pg = pg_cluster(PG_ADMIN_DSN)
    server = TestServer(create_replay_app(SAMPLES_DIR), host="127.0.0.1")
    await server.start_server()
    proc = None
    try:
        cfg = write_config(tmp_path / "cfg.toml", server={"poll_lease": "5s"},
                           connectors=connectors_toml(f"http://127.0.0.1:{server.port}", interval="1s"))
        await prepare_database(load_settings(cfg, {"database_url": pg_db_url}), agents=())
        port = free_port()
        proc = await spawn(["--config", str(cfg), "serve", "--role", "all", "--port", str(port)],
                           env={"INBOX_DATABASE_URL": pg_db_url}, log=tmp_path / "serve.log")

        async def stored() -> int:
            try:
                return (await ledger(pg_db_url)).mentions
            except Exception:  # noqa: BLE001 - PostgreSQL may be restarting
                return -1

        async def health() -> bool:
            try:
                async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/api/v1/health") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        assert await wait_for(lambda: _above(stored, 10), timeout=180), proc.output()
        before = await stored()
        async with pg_guard(pg):
            await asyncio.get_running_loop().run_in_executor(None, pg.restart)
        now = datetime.now(UTC)
        for platform in ("mastodon", "bluesky", "hackernews", "x"):
            server.app[REPLAY_STORE].add(platform, fresh_items(platform, 3, now, tag="after-restart"))
        assert await wait_for(lambda: _above(stored, before + 12 - 1), timeout=120), proc.output()
        assert await wait_for(health, timeout=60), proc.output()
        assert proc.running, "the serve process died with the database"
        got = await ledger(pg_db_url)
        assert got.doubled == 0 and got.orphans == 0
    finally:
        if proc is not None:
            await proc.kill()
        await server.close()


async def _above(fn: Any, n: int) -> bool:
    return bool(await fn() > n)
