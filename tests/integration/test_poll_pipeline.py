"""Polling in batches: each batch's mentions and cursor are committed together while the next
batch is fetched; the cursor stored with a batch never covers a mention that is not stored; a
failure half-way keeps what was committed and the next poll loses and doubles nothing."""
from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select, update

from connectors.base import BatchedConnector, PollResult, poll_in_batches
from connectors.config import ConnectorSettings
from connectors.http import HttpClient
from connectors.paging import id_key
from connectors.polling import merge_batches
from connectors.registry import build_connector
from connectors.replay import REPLAY_STORE, FaultPlan, create_replay_app
from connectors.testing import fresh_items, serve_app
from inbox.ingest.pipeline import CursorUpdate, IngestResult, Pipeline
from inbox.ingest.poll import Poller
from inbox.ingest.poll_batches import PollTotals, run_pipelined
from inbox.storage.db_clock import db_now
from inbox.storage.repo import connector_state
from inbox.storage.repo._common import T_CONN, T_MENTION

# pages of 4 asked from just below the anchor: the anchor again (the overlap that proves the page
# follows it) and 3 new statuses; 8 such pages and a last one holding only the anchor, no gap probe;
# batches of 8 mentions: 9, 9, 6
N = 24
REQUESTS = 9


def _settings(base: str) -> ConnectorSettings:
    return ConnectorSettings.model_validate({"name": "masto", "type": "mastodon", "base_url": f"{base}/mastodon",
                                             "query": ["lumetta"], "allow_private_hosts": True, "page_size": 4})


def _publish(app: Any, services: Any, count: int, tag: str) -> list[dict[str, Any]]:
    ago = timedelta(hours=2) if tag == "anchor" else timedelta(hours=1)  # the anchor is older than the rest
    items = fresh_items("mastodon", count, services.clock.now() - ago, tag=tag)
    app[REPLAY_STORE].add("mastodon", items)
    return items


async def _stored(services: Any) -> list[str]:
    async with services.engine.connect() as conn:
        return list(
            (await conn.execute(select(T_MENTION.c.external_id).where(T_MENTION.c.source == "masto"))).scalars()
        )


async def test_each_batch_commits_with_a_cursor_that_is_not_ahead_of_it(services: Any, tmp_path: Path) -> None:
    """After every batch commit, each published status at or below the stored min_id is stored."""
    app = create_replay_app(tmp_path)
    async with serve_app(app) as base, Poller(services) as poller:
        cfg = _settings(base)
        _publish(app, services, 1, "anchor")
        assert (await poller.poll(cfg))["ok"]
        items = _publish(app, services, N, "new")
        owner, now = services.owner, services.clock.now()
        async with services.engine.begin() as conn:
            assert await connector_state.try_lease("masto", owner, conn=conn, now=now, lease_for=timedelta(hours=1))
            cursor = (await connector_state.get_state("masto", conn=conn) or {}).get("cursor")
        pipeline: Pipeline = await services.ready_pipeline()
        checked: list[int] = []

        async def store(batch: PollResult) -> IngestResult:
            res = await pipeline.ingest(batch.mentions, batch.rejects,
                                        cursor=CursorUpdate("masto", owner, batch.cursor, len(batch.mentions)))
            async with services.engine.connect() as conn:
                saved = (await connector_state.get_state("masto", conn=conn) or {})["cursor"]
            min_id = next(iter(saved["streams"].values()))["min_id"]
            covered = {i["uri"] for i in items if id_key(i["id"]) <= id_key(min_id)}
            assert covered <= set(await _stored(services)), "the stored cursor covers a mention that is not stored"
            checked.append(len(covered))
            return res

        connector = build_connector(cfg, poller.http, env={})
        totals = await run_pipelined(poll_in_batches(connector, cursor, batch_size=8), store, PollTotals())
    assert totals.batches == 3 and checked == [9, 18, 24]
    assert totals.counts["ingested"] == N and totals.requests == REQUESTS


async def test_failure_mid_pipeline_loses_and_doubles_nothing(services: Any, tmp_path: Path) -> None:
    """Page 5 keeps failing: pages 1-4 stay committed with their cursor; the next poll stores the rest once."""
    # request 0 is the first poll, 1-4 the first four pages (3 new statuses each), then five
    # malformed answers in a row
    app = create_replay_app(tmp_path, faults=FaultPlan(script=["ok"] * 5 + ["malformed"] * 5))

    async def sleep(seconds: float) -> None:  # back-off on the fake clock, no real waiting
        services.clock.advance(seconds)

    async with serve_app(app) as base, Poller(services, sleep=sleep, batch_size=8) as poller:
        cfg = _settings(base)
        _publish(app, services, 1, "anchor")
        assert (await poller.poll(cfg))["ok"]
        items = _publish(app, services, N, "new")
        failed = await poller.poll(cfg)
        assert failed["ok"] is False and "undecodable" in failed["error"], failed
        # the batch of pages 1-3 and the held-back page 4 were committed before the error was raised
        assert failed["committed_batches"] == 2 and failed["ingested"] == 12
        assert failed["health"]["consecutive_failures"] == 1
        async with services.engine.connect() as conn:
            saved = (await connector_state.get_state("masto", conn=conn) or {})["cursor"]
        assert next(iter(saved["streams"].values()))["min_id"] == items[11]["id"]
        assert len(await _stored(services)) == 1 + 12
        again = await poller.poll(cfg)
        assert again["ok"] and again["ingested"] == N - 12 and again["duplicates"] == 0, again
        last = await poller.poll(cfg)
        assert last["ok"] and last["fetched"] == 0
    stored = await _stored(services)
    assert len(stored) == len(set(stored)) == N + 1
    assert set(stored) >= {i["uri"] for i in items}


async def test_small_polls_stay_one_batch(services: Any, tmp_path: Path) -> None:
    """A poll under the batch size commits once, as before batching."""
    app = create_replay_app(tmp_path)
    async with serve_app(app) as base, Poller(services, batch_size=1000) as poller:
        cfg = _settings(base)
        _publish(app, services, 1, "anchor")
        await poller.poll(cfg)
        _publish(app, services, N, "new")
        out = await poller.poll(cfg)
    assert out["ok"] and out["batches"] == 1 and out["ingested"] == N and out["pages"] == 9


async def test_batch_cursor_keeps_the_old_state_of_streams_not_reached(tmp_path: Path) -> None:
    """With two streams, early batches carry the second stream's old state; all batches add up to one poll."""
    app = create_replay_app(tmp_path)
    async with serve_app(app) as base, aiohttp.ClientSession() as session:
        table = {"name": "masto", "type": "mastodon", "base_url": f"{base}/mastodon", "query": ["lumetta", "#lumetta"],
                 "allow_private_hosts": True, "page_size": 4}
        connector = build_connector(ConnectorSettings.model_validate(table), HttpClient(session), env={})
        assert isinstance(connector, BatchedConnector)
        now = datetime.now(UTC)
        app[REPLAY_STORE].add("mastodon", fresh_items("mastodon", 1, now - timedelta(hours=2), tag="anchor"))
        first = await connector.poll(None)
        items = fresh_items("mastodon", N, now - timedelta(hours=1), tag="new")
        app[REPLAY_STORE].add("mastodon", items)
        batches = [b async for b in connector.poll_batches(first.cursor, batch_size=8)]
        whole = await connector.poll(first.cursor)
    search, tag = list(first.cursor["streams"])
    assert [len(b.mentions) for b in batches] == [9, 9, 6]  # pages of 3 new statuses (see N)
    for n, batch in enumerate(batches[:2], start=1):
        assert batch.cursor["streams"][search] == {"min_id": items[9 * n - 1]["id"]}
        assert batch.cursor["streams"][tag] == first.cursor["streams"][tag]
    merged = merge_batches(batches)
    assert [m.external_id for m in merged.mentions] == [m.external_id for m in whole.mentions]
    assert merged.cursor == whole.cursor and merged.requests == whole.requests and merged.pages == whole.pages


def _batch(n: int) -> PollResult:
    return PollResult(mentions=[], cursor={"batch": n}, requests=1, pages=1)


async def test_store_failure_stops_fetching_and_closes_the_walk() -> None:
    """When storing batch 2 fails, the error is raised, fetching stops and the connector's walk is closed."""
    events: list[str] = []

    async def walk() -> AsyncGenerator[PollResult, None]:
        try:
            for n in range(1, 100):
                events.append(f"fetched {n}")
                yield _batch(n)
        finally:
            events.append("closed")

    async def store(batch: PollResult) -> IngestResult:
        events.append(f"store {batch.cursor['batch']}")
        if batch.cursor["batch"] == 2:
            raise RuntimeError("database gone")
        return IngestResult()

    totals = PollTotals()
    try:
        await run_pipelined(walk(), store, totals)
    except RuntimeError as exc:
        assert str(exc) == "database gone"
    else:
        raise AssertionError("the store failure was not raised")
    assert totals.batches == 1 and events[-1] == "closed"
    assert sum(e.startswith("fetched") for e in events) <= 2 + 2  # at most `ahead` + 1 beyond the failed one


async def test_fetch_failure_raises_after_storing_earlier_batches() -> None:
    """Batches handed over before a connector error are all stored, in order, then the error is raised."""
    stored: list[int] = []

    async def walk() -> AsyncGenerator[PollResult, None]:
        yield _batch(1)
        yield _batch(2)
        raise ValueError("page 3 broke")

    async def store(batch: PollResult) -> IngestResult:
        stored.append(batch.cursor["batch"])
        return IngestResult()

    totals = PollTotals()
    try:
        await run_pipelined(walk(), store, totals)
    except ValueError as exc:
        assert str(exc) == "page 3 broke"
    else:
        raise AssertionError("the fetch failure was not raised")
    assert stored == [1, 2] and totals.batches == 2


async def test_fetching_runs_at_most_one_batch_ahead() -> None:
    """While batch k is stored, the connector has produced at most batches k+1 and k+2 (one queued, one waiting)."""
    produced = 0
    seen_at_store: list[tuple[int, int]] = []

    async def walk() -> AsyncGenerator[PollResult, None]:
        nonlocal produced
        for n in range(1, 11):
            produced = n
            yield _batch(n)

    async def store(batch: PollResult) -> IngestResult:
        seen_at_store.append((batch.cursor["batch"], produced))
        return IngestResult()

    await run_pipelined(walk(), store, PollTotals(), ahead=1)
    assert [k for k, _ in seen_at_store] == list(range(1, 11))
    assert all(made <= k + 2 for k, made in seen_at_store)
    assert any(made > k for k, made in seen_at_store), "fetching never ran ahead of storing"


async def test_poller_keeps_allow_private_connectors_in_their_own_pool(services: Any, tmp_path: Path) -> None:
    """The poller's HTTP client has two guarded sessions: allow-private connectors (this test's
    mastodon on 127.0.0.1) send through the second, so the strict connectors' pool never holds
    one of their connections; both sessions close with the poller."""

    app = create_replay_app(tmp_path)
    async with serve_app(app) as base, Poller(services) as poller:
        http = poller.http
        shared, private = http.session, http.private_session
        assert private is not None and private is not shared
        assert http.session_for(True) is private and http.session_for(False) is shared
        _publish(app, services, 3, "new")
        assert (await poller.poll(_settings(base)))["ok"]
    assert shared.closed and private.closed


async def test_retry_after_is_every_instances_next_poll_time(services: Any, settings_factory: Any) -> None:
    """A source that answers 429 with Retry-After: its retry time is stored as the connector's next
    poll, so no instance (this one or another) asks it again before then."""
    hits: list[str] = []

    async def limited(request: aiohttp.web.Request) -> aiohttp.web.Response:
        hits.append(request.path)
        return aiohttp.web.Response(status=429, headers={"Retry-After": "3600"})

    app = aiohttp.web.Application()
    app.router.add_route("*", "/{tail:.*}", limited)
    async with serve_app(app) as base, Poller(services) as first, Poller(services) as second:
        cfg = _settings(base)
        out = await first.poll(cfg)
        asked = len(hits)
        retry_at = datetime.fromisoformat(out["retry_at"])
        assert not out["ok"] and asked >= 1
        now = services.clock.now()
        assert now + timedelta(hours=1) <= retry_at < now + timedelta(hours=1, minutes=1)
        async with services.engine.connect() as conn:
            assert (await connector_state.get_state("masto", conn=conn) or {})["next_poll_at"] == retry_at
        services.clock.advance(cfg.interval * 2)  # the usual interval has passed, the platform's wait has not
        assert (await second.poll(cfg, due_only=True))["skipped"]
        assert len(hits) == asked
        services.clock.advance(timedelta(hours=1, minutes=1))
        assert not (await second.poll(cfg, due_only=True)).get("skipped")
        assert len(hits) > asked


async def test_a_long_poll_renews_its_lease_with_each_batch(services: Any, tmp_path: Path) -> None:
    """Each stored batch extends the poll's lease: a poll that outlasts server.poll_lease keeps it.
    The lease runs on the database's clock, so the test ages it there: before each batch the lease
    has one second left, and the batch's commit gives it a whole lease again."""
    app = create_replay_app(tmp_path)
    lease = services.settings.server.poll_lease
    left: list[timedelta] = []

    async def lease_left() -> timedelta:
        async with services.engine.connect() as conn:
            until, now = (await conn.execute(select(T_CONN.c.lease_expires_at, db_now())
                                             .where(T_CONN.c.name == "masto"))).one()
        return until - now  # type: ignore[no-any-return]

    async with serve_app(app) as base, Poller(services, batch_size=8) as poller:
        cfg = _settings(base)
        _publish(app, services, 1, "anchor")
        assert (await poller.poll(cfg))["ok"]
        _publish(app, services, N, "new")
        pipeline = await services.ready_pipeline()
        ingest = pipeline.ingest

        async def slow_ingest(*args: Any, **kwargs: Any) -> IngestResult:
            async with services.engine.begin() as conn:  # most of the lease has gone by
                await conn.execute(update(T_CONN).where(T_CONN.c.name == "masto")
                                   .values(lease_expires_at=db_now(timedelta(seconds=1))))
            res = await ingest(*args, **kwargs)
            left.append(await lease_left())
            return res

        pipeline.ingest = slow_ingest  # type: ignore[method-assign]
        try:
            assert (await poller.poll(cfg))["ok"]
        finally:
            pipeline.ingest = ingest  # type: ignore[method-assign]
    assert len(left) >= 3
    assert all(lease - timedelta(minutes=1) < x <= lease for x in left), left


async def test_a_failing_source_is_polled_less_often_until_it_recovers(services: Any, tmp_path: Path) -> None:
    """A source that keeps refusing is asked again after its interval, then two, then four intervals
    (stored as its next poll time, so every instance waits); one successful poll brings the interval back."""
    hits: list[str] = []

    async def refused(request: aiohttp.web.Request) -> aiohttp.web.Response:
        hits.append(request.path)
        return aiohttp.web.json_response({"error": "The access token is invalid"}, status=401)

    refusing = aiohttp.web.Application()
    refusing.router.add_route("*", "/{tail:.*}", refused)
    replay = create_replay_app(tmp_path)
    async with serve_app(refusing) as bad, serve_app(replay) as good, Poller(services) as poller:
        cfg = _settings(bad)
        step = cfg.interval
        waits = []
        for _ in range(3):
            out = await poller.poll(cfg, due_only=True)
            assert not out["ok"] and out["permanent"], out
            waits.append(datetime.fromisoformat(out["next_poll_at"]) - services.clock.now())
            asked = len(hits)
            services.clock.advance(waits[-1] - timedelta(seconds=1))  # not yet due: nobody asks
            assert (await poller.poll(cfg, due_only=True))["skipped"] and len(hits) == asked
            services.clock.advance(timedelta(seconds=1))
        assert waits == [step, 2 * step, 4 * step]
        async with services.engine.connect() as conn:
            assert (await connector_state.get_state("masto", conn=conn) or {})["consecutive_failures"] == 3

        _publish(replay, services, 1, "anchor")
        recovered = _settings(good)
        out = await poller.poll(recovered, due_only=True)
        assert out["ok"] and out["health"]["consecutive_failures"] == 0, out
        async with services.engine.connect() as conn:
            state = await connector_state.get_state("masto", conn=conn) or {}
        assert state["next_poll_at"] == services.clock.now() + step
