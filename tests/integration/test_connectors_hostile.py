"""The hostile run: 20% 5xx and 10% 429 injected; every mention still arrives exactly once and no
request is sent before its Retry-After."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from random import Random

import aiohttp

from connectors.config import ConnectorSettings
from connectors.errors import ConnectorError
from connectors.fake import FakeClock
from connectors.http import HttpClient, RetryPolicy
from connectors.registry import build_connector
from connectors.replay import REPLAY_LOG, REPLAY_STORE, SAMPLES_DIR, FaultPlan, ReplayRecord, create_replay_app
from connectors.testing import fresh_items, sample_settings, serve_app

START = datetime(2026, 3, 10, 12, tzinfo=UTC)
PLATFORMS = {"mastodon": "mastodon", "bluesky": "bluesky", "reddit": "reddit", "hackernews": "hackernews",
             "x": "x", "youtube": "youtube"}


async def run_scenario(plan: FaultPlan | None) -> tuple[Counter[tuple[str, str]], list[ReplayRecord]]:
    """Four rounds of polls (new items published between rounds); failed polls are simply repeated
    with the stored cursor, as the inbox does. Returns how often each mention was delivered."""
    clock = FakeClock(START)
    app = create_replay_app(SAMPLES_DIR, faults=plan, clock=clock.now)
    delivered: Counter[tuple[str, str]] = Counter()
    async with serve_app(app) as base, aiohttp.ClientSession() as session:
        http = HttpClient(session, clock=clock.now, sleep=clock.sleep, random=Random(3),
                          policy=RetryPolicy(max_attempts=4, breaker_threshold=50))
        connectors = {
            t["name"]: build_connector(ConnectorSettings.model_validate({**t, "page_size": 10}), http, env={})
            for t in sample_settings(base)
        }
        cursors: dict[str, dict[str, object] | None] = {name: None for name in connectors}
        store = app[REPLAY_STORE]
        for round_no in range(4):
            if round_no:
                for platform in PLATFORMS.values():
                    published = START + timedelta(hours=round_no, minutes=-20)  # same ids in every run
                    store.add(platform, fresh_items(platform, 12, published, tag=f"r{round_no}"))
                feed = store.feeds["google_alerts_lumetta.atom.xml"]
                entry = (
                    f"<entry><id>tag:google.com,2013:googlealerts/feed:r{round_no}</id><title>Lumetta round {round_no}"
                    f'</title><link href="https://www.google.com/url?url=https://blog.example/{round_no}"/>'
                    f"<published>2026-03-10T12:0{round_no}:00Z</published></entry>"
                ).encode()
                store.put_feed("google_alerts_lumetta.atom.xml", feed.replace(b"</feed>", entry + b"</feed>"))
            clock.advance(3600)
            for name, connector in connectors.items():
                for _attempt in range(12):
                    try:
                        result = await connector.poll(cursors[name])
                    except ConnectorError:
                        clock.advance(30)
                        continue
                    for mention in result.mentions:
                        delivered[(name, mention.external_id)] += 1
                    cursors[name] = result.cursor
                    if not result.errors:
                        break
                else:
                    raise AssertionError(f"{name} never completed a poll")
    return delivered, app[REPLAY_LOG]


async def test_hostile_polls_deliver_every_mention_exactly_once() -> None:
    """Under 20% 5xx and 10% 429 every mention arrives exactly once and no request precedes its Retry-After."""
    control, _ = await run_scenario(None)
    plan = FaultPlan(seed=20260310, error_rate=0.2, rate_limit_rate=0.1, retry_after=3, retry_after_form="mixed")
    hostile, log = await run_scenario(plan)
    assert len(control) == 44 + 3 * (6 * 12 + 1)  # samples, then 12 per platform and 1 alert per round
    assert set(hostile) == set(control)
    assert [key for key, count in hostile.items() if count != 1] == []
    faults = Counter(r.fault for r in log)
    assert faults["5xx"] >= 10 and faults["429-seconds"] >= 3 and faults["429-date"] >= 3, faults
    assert not [r for r in log if r.early]
    for index, record in enumerate(log):
        if record.retry_at is None:
            continue
        platform = record.path.strip("/").split("/")[0]
        later = [r for r in log[index + 1:] if r.path.strip("/").split("/")[0] == platform]
        assert all(r.at >= record.retry_at for r in later), f"request before Retry-After on {platform}"
