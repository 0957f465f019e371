"""Hostile sources through the whole poll path (Poller -> connector -> pipeline -> database): 20%
5xx, 10% 429 with Retry-After in both forms, timeouts, truncated and malformed bodies, repeated
pages, plus one source that hangs and then fails for good. Once the faults stop, the database
holds exactly what a fault-free run stores; no request ever precedes its Retry-After; the failing
source never holds up the others."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from connectors.config import ConnectorSettings
from connectors.fake import FakeClock
from connectors.http import HttpClient, RetryPolicy
from connectors.replay import REPLAY_LOG, REPLAY_PLAN, REPLAY_STORE, SAMPLES_DIR, FaultPlan, create_replay_app
from connectors.testing import fresh_items, sample_settings, serve_app
from inbox.ingest.classifier import ClassifierHolder
from inbox.ingest.poll import Poller
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts, connector_state
from tests.conftest import KeywordClassifier
from tests.faults.harness import ledger

START = datetime(2026, 3, 10, 12, tzinfo=UTC)
FRESH = ("mastodon", "bluesky", "reddit", "hackernews", "x", "youtube")
HOSTILE: dict[str, float] = dict(error_rate=0.2, rate_limit_rate=0.1, slow_rate=0.04, malformed_rate=0.04,
                                 truncated_rate=0.04, repeat_rate=0.04)


def hostile_plan() -> FaultPlan:
    """20% 5xx, 10% 429 (Retry-After alternately in seconds and as an HTTP date), 4% each of slow
    answers (past the client timeout), malformed and truncated bodies, repeated page tokens."""
    return FaultPlan(seed=20261126, retry_after=3, retry_after_form="mixed", slow_seconds=1.0,
                     **HOSTILE)  # type: ignore[arg-type]  # the rates are the float fields


def _failing_app(release: asyncio.Event) -> web.Application:
    """A source that hangs until ``release`` is set, then answers 500 to everything."""
    async def handler(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"error": "down"}, status=500)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


async def _run(db_url: str, settings_factory: Any, plan: FaultPlan | None, tmp: Path) -> dict[str, Any]:
    """Four rounds of polls (new items between rounds) with faults, then polls without faults
    until nothing is new. Returns the ledger, the replay log and what the failing source did."""
    clock = FakeClock(START)
    app = create_replay_app(SAMPLES_DIR, faults=plan, clock=clock.now)
    release = asyncio.Event()
    out: dict[str, Any] = {"early": [], "stalled": None}
    async with serve_app(app) as base, serve_app(_failing_app(release)) as dead_base, \
            aiohttp.ClientSession() as session:
        tables = [{**t, "page_size": 10, "timeout": 0.5} for t in sample_settings(base)]
        tables.append({"name": "dead", "type": "mastodon", "base_url": f"{dead_base}/mastodon", "query": ["lumetta"],
                       "allow_private_hosts": True, "interval": "5m", "timeout": 600})
        conns = [ConnectorSettings.model_validate(t) for t in tables]
        settings = settings_factory(db_url).model_copy(update={"connectors": conns})
        svc = await Services.open(settings, clock=clock)
        try:
            await migrate.upgrade(svc.engine)
            async with svc.engine.begin() as conn:
                await accounts.sync_teams(settings.teams, conn=conn, now=clock.now())
            svc.classifier = ClassifierHolder(KeywordClassifier())
            http = HttpClient(session, clock=clock.now, sleep=clock.sleep, random=Random(3),
                              policy=RetryPolicy(max_attempts=4, breaker_threshold=50))
            healthy = [c for c in conns if c.name != "dead"]
            dead = next(c for c in conns if c.name == "dead")
            store = app[REPLAY_STORE]
            async with Poller(svc, http=http) as poller:
                dead_task = asyncio.create_task(poller.poll(dead))
                for round_no in range(4):
                    if round_no:
                        for platform in FRESH:
                            store.add(
                                platform,
                                fresh_items(
                                    platform, 12, START + timedelta(hours=round_no, minutes=-20), tag=f"r{round_no}"
                                ),
                            )
                    clock.advance(3600)
                    pending = list(healthy)
                    for _attempt in range(15):
                        results = await asyncio.gather(*[poller.poll(c) for c in pending])
                        pending = [c for c, r in zip(pending, results, strict=True) if not r["ok"] or r.get("degraded")]
                        if not pending:
                            break
                        clock.advance(30)
                    if round_no == 0:
                        # every healthy source completed a poll while the failing one still hangs
                        out["stalled"] = dead_task.done()
                        release.set()
                        out["dead_result"] = await dead_task
                # the faults stop: poll until nothing is new (a cursor that lagged catches up)
                app[REPLAY_PLAN].__dict__.update(error_rate=0.0, rate_limit_rate=0.0, slow_rate=0.0,
                                                 malformed_rate=0.0, truncated_rate=0.0, repeat_rate=0.0)
                app[REPLAY_PLAN].script = ()
                for _ in range(10):
                    clock.advance(600)
                    results = [await poller.poll(c) for c in healthy]
                    if all(r["ok"] and not r.get("degraded") and r.get("ingested", 0) == 0 for r in results):
                        break
                else:
                    raise AssertionError(f"the healthy sources never settled: {results}")
                out["dead_again"] = await poller.poll(dead)
            async with svc.engine.connect() as conn:
                out["dead_state"] = await connector_state.get_state("dead", conn=conn)
        finally:
            await svc.close()
    out["ledger"] = await ledger(db_url)
    out["log"] = app[REPLAY_LOG]
    return out


@pytest.mark.slow
async def test_hostile_sources_lose_nothing_double_nothing_and_respect_retry_after(
        db_url: str, settings_factory: Any, tmp_path: Path) -> None:
    """Faults on every request kind; once they stop the database equals a fault-free run's, exactly once."""
    control = await _run(f"sqlite+aiosqlite:///{tmp_path}/control.db", settings_factory, None, tmp_path)
    hostile = await _run(db_url, settings_factory, hostile_plan(), tmp_path)

    expected = control["ledger"].keys
    got = hostile["ledger"]
    assert len(expected) >= 44 + 3 * 6 * 12
    assert got.keys == expected, (sorted(expected - got.keys)[:5], sorted(got.keys - expected)[:5])
    assert got.doubled == 0 and got.orphans == 0 and got.items == control["ledger"].items

    log = hostile["log"]
    faults = Counter(r.fault for r in log)
    for kind in ("5xx", "429-seconds", "429-date", "slow", "malformed", "truncated", "repeat"):
        assert faults[kind] >= 1, faults
    assert [r for r in log if r.early] == []
    for i, rec in enumerate(log):
        if rec.retry_at is not None:
            platform = rec.path.strip("/").split("/")[0]
            assert all(r.at >= rec.retry_at for r in log[i + 1:] if r.path.strip("/").split("/")[0] == platform), \
                f"a {platform} request came before its Retry-After"

    assert hostile["stalled"] is False, "the failing source finished before the others: nothing was shown"
    assert hostile["dead_result"]["ok"] is False and hostile["dead_again"]["ok"] is False
    assert hostile["dead_state"]["consecutive_failures"] >= 2 and hostile["dead_state"]["lease_owner"] is None
