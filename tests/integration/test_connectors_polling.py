"""Every connector against the replay server: first poll, incremental polls, pages, overlap,
edits and reposts, partial failures."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from connectors.base import Connector, PollResult
from connectors.config import ConnectorSettings
from connectors.errors import PermanentError, RateLimited
from connectors.fake import FakeClock
from connectors.http import HttpClient
from connectors.registry import build_connector
from connectors.replay import REPLAY_LOG, REPLAY_STORE, SAMPLES_DIR, create_replay_app
from connectors.testing import fresh_items, sample_settings, serve_app

START = datetime(2026, 3, 10, 12, tzinfo=UTC)
EXPECTED_FIRST = {"mastodon": 7, "bluesky": 7, "reddit": 6, "hackernews": 4, "news": 8, "x": 7, "youtube": 5}
POLLED = ["mastodon", "bluesky", "reddit", "hackernews", "x", "youtube"]


@dataclass
class Replay:
    app: web.Application
    base: str
    http: HttpClient
    clock: FakeClock

    def connector(self, name: str, **overrides: Any) -> Connector:
        table = next(t for t in sample_settings(self.base) if t["name"] == name)
        return build_connector(ConnectorSettings.model_validate({**table, **overrides}), self.http, env={})

    def publish(self, platform: str, items: list[dict[str, Any]]) -> None:
        self.app[REPLAY_STORE].add(platform, items)


@pytest.fixture
async def replay() -> AsyncIterator[Replay]:
    clock = FakeClock(START)
    app = create_replay_app(SAMPLES_DIR, clock=clock.now)
    async with serve_app(app) as base, aiohttp.ClientSession() as session:
        yield Replay(app, base, HttpClient(session, clock=clock.now, sleep=clock.sleep, random=Random(1)), clock)


@pytest.mark.parametrize("name", list(EXPECTED_FIRST))
async def test_first_poll_then_nothing_new(replay: Replay, name: str) -> None:
    """The first poll returns every sample mention once; a second poll with the cursor returns none."""
    connector = replay.connector(name)
    first = await connector.poll(None)
    assert len(first.mentions) == EXPECTED_FIRST[name] and not first.errors
    assert len({m.external_id for m in first.mentions}) == len(first.mentions)
    assert all(m.source == name and m.text and m.created_at and m.created_at.tzinfo for m in first.mentions)
    assert first.requests >= 1 and first.cursor["v"] == 1
    second = await connector.poll(first.cursor)
    assert second.mentions == [] and not second.errors


@pytest.mark.parametrize("platform", POLLED)
async def test_incremental_poll_gets_only_new_items_over_pages(replay: Replay, platform: str) -> None:
    """Items published after a poll arrive in the next one, across several pages, exactly once."""
    # Mastodon's pages repeat their anchor (the overlap that proves a page follows it): 3 is 2 new
    connector = replay.connector(platform, page_size={"x": 10, "mastodon": 3}.get(platform, 2))
    first = await connector.poll(None)
    assert first.pages == len(first.cursor["streams"])  # a first run reads one page per stream
    replay.clock.advance(3600)
    fresh = fresh_items(platform, 12, START + timedelta(minutes=30))
    replay.publish(platform, fresh)
    second = await connector.poll(first.cursor)
    assert len(second.mentions) == 12 and second.pages > 1 and not second.errors
    third = await connector.poll(second.cursor)
    assert third.mentions == []


async def test_rss_new_entry_and_conditional_get(replay: Replay) -> None:
    """Feeds are fetched with If-None-Match (304 when unchanged); a changed feed yields only new entries."""
    connector = replay.connector("news")
    first = await connector.poll(None)
    second = await connector.poll(first.cursor)
    assert [r.status for r in replay.app[REPLAY_LOG]][-3:] == [304, 304, 304] and second.mentions == []
    store = replay.app[REPLAY_STORE]
    body = store.feeds["economia_it.rss.xml"].replace(
        b"<item>", b"<item><title>Lumetta assume 50 tecnici</title><link>https://cronacaeconomica.example/new</link>"
        b"<guid isPermaLink=\"false\">new-1</guid><pubDate>Mon, 09 Mar 2026 08:00:00 +0100</pubDate></item><item>", 1)
    store.put_feed("economia_it.rss.xml", body)
    third = await connector.poll(second.cursor)
    assert [m.external_id for m in third.mentions] == ["new-1"]


async def test_malformed_feed_rejected_once(replay: Replay) -> None:
    """A feed turning into garbage gives one Reject; the same garbage again gives none."""
    connector = replay.connector("news")
    first = await connector.poll(None)
    replay.app[REPLAY_STORE].put_feed("business_en.atom.xml", b"<feed><entry><title>Lumetta</ti")
    second = await connector.poll(first.cursor)
    third = await connector.poll(second.cursor)
    assert len(second.rejects) == 1 and "malformed" in second.rejects[0].reason and second.mentions == []
    assert third.rejects == []


async def test_bluesky_overlap_catches_late_index_without_duplicates(replay: Replay) -> None:
    """A post indexed late, just before the watermark, is still fetched once; seen posts are not repeated."""
    connector = replay.connector("bluesky")
    first = await connector.poll(None)
    watermark = datetime.fromisoformat(first.cursor["streams"]["lumetta"]["watermark"].replace("Z", "+00:00"))
    late = fresh_items("bluesky", 1, watermark - timedelta(minutes=2), tag="late")
    replay.publish("bluesky", late)
    second = await connector.poll(first.cursor)
    assert [m.external_id for m in second.mentions] == [late[0]["uri"]]
    assert replay.app[REPLAY_LOG][-1].query["since"] < first.cursor["streams"]["lumetta"]["watermark"]


async def test_hackernews_overlap_window_deduplicated(replay: Replay) -> None:
    """HN re-reads watermark minus overlap but returns nothing twice."""
    connector = replay.connector("hackernews")
    first = await connector.poll(None)
    mark = first.cursor["streams"]["lumetta"]["watermark"]
    same_second = fresh_items("hackernews", 1, datetime.fromtimestamp(mark, UTC), tag="same")
    replay.publish("hackernews", same_second)
    second = await connector.poll(first.cursor)
    assert [m.external_id for m in second.mentions] == [same_second[0]["objectID"]]
    assert f"created_at_i>={mark - 300}" == replay.app[REPLAY_LOG][-1].query["numericFilters"]


async def test_cursor_never_passes_poll_start(replay: Replay) -> None:
    """A post dated in the future does not push the watermark past the poll's start time."""
    connector = replay.connector("bluesky")
    replay.publish("bluesky", fresh_items("bluesky", 1, START + timedelta(hours=5), tag="future"))
    result = await connector.poll(None)
    assert result.cursor["streams"]["lumetta"]["watermark"] == "2026-03-10T12:00:00Z"


async def test_reposts_and_edits_flagged(replay: Replay) -> None:
    """Boosts, retweets and crossposts are reposts of their originals; edits carry edited_at."""
    results: dict[str, PollResult] = {n: await replay.connector(n).poll(None) for n in ("mastodon", "x", "reddit")}
    masto = [m for m in results["mastodon"].mentions if m.is_repost]
    assert len(masto) == 1 and masto[0].original_external_id and masto[0].original_external_id.startswith("https://mastodon.social/")
    assert any(m.edited_at for m in results["mastodon"].mentions)
    x_reposts = [m for m in results["x"].mentions if m.is_repost]
    assert len(x_reposts) == 1 and x_reposts[0].original_external_id in {m.external_id for m in results["x"].mentions}
    edited = [m for m in results["x"].mentions if m.edited_at]
    assert len(edited) == 1 and edited[0].external_id == edited[0].raw["edit_history_tweet_ids"][0]
    crossposts = [m for m in results["reddit"].mentions if m.is_repost]
    assert [m.original_external_id for m in crossposts] == ["t3_1b7xq2a"]


async def test_mastodon_edit_seen_again_keeps_identity(replay: Replay) -> None:
    """An edited status re-served by the server keeps its uri as external_id and carries edited_at."""
    connector = replay.connector("mastodon", query=["lumetta"])
    first = await connector.poll(None)
    item = fresh_items("mastodon", 1, START, tag="edit")[0]
    replay.publish("mastodon", [item])
    second = await connector.poll(first.cursor)
    edited = {
        **item,
        "id": str(int(item["id"]) + 5),
        "content": "<p>Lumetta (edited)</p>",
        "edited_at": "2026-03-10T12:01:00Z",
    }
    replay.publish("mastodon", [edited])
    third = await connector.poll(second.cursor)
    assert [m.external_id for m in third.mentions] == [second.mentions[0].external_id]
    assert third.mentions[0].edited_at is not None and third.mentions[0].text == "Lumetta (edited)"


async def test_mastodon_instances_deduplicated_by_uri(replay: Replay) -> None:
    """Two instances serving the same posts (different local ids) give each post once, cursors per instance."""
    connector = replay.connector(
        "mastodon", base_url=None, instances=[f"{replay.base}/mastodon/one", f"{replay.base}/mastodon/two"]
    )
    result = await connector.poll(None)
    assert len(result.mentions) == EXPECTED_FIRST["mastodon"]
    streams = result.cursor["streams"]
    assert len(streams) == 4 and len({s["min_id"] for s in streams.values()}) == 2


async def test_reddit_listings_matched_locally(replay: Replay) -> None:
    """Subreddit listings keep only items naming the brand; others are remembered as seen."""
    result = await replay.connector("reddit").poll(None)
    ids = {m.external_id for m in result.mentions}
    assert {"t1_kx1a001", "t1_kx1a002"} <= ids and "t1_kx1a003" not in ids and "t3_1bb1fg6" not in ids
    assert "t1_kx1a003" in result.cursor["streams"]["comments:espresso"]["seen"]


async def test_one_failing_feed_does_not_block_the_others(replay: Replay) -> None:
    """A 404 feed is reported in errors while the other feeds' mentions are returned."""
    table = next(t for t in sample_settings(replay.base) if t["name"] == "news")
    table = {**table, "feeds": [*table["feeds"], f"{replay.base}/rss/gone.xml"]}
    connector = build_connector(ConnectorSettings.model_validate(table), replay.http, env={})
    result = await connector.poll(None)
    assert len(result.mentions) == EXPECTED_FIRST["news"]
    assert [(e.kind, e.stream) for e in result.errors] == [("permanent", "feed3:127.0.0.1")]
    assert "gone.xml" not in result.errors[0].message


async def test_bluesky_session_created_once(replay: Replay) -> None:
    """With handle + app password the connector logs in once and reuses the token across polls."""
    app = create_replay_app(SAMPLES_DIR, clock=replay.clock.now, bluesky_auth=True)
    async with serve_app(app) as base:
        table = {**next(t for t in sample_settings(base) if t["name"] == "bluesky"),
                 "handle": "brand.example", "app_password_env": "BSKY_PASSWORD"}
        connector = build_connector(ConnectorSettings.model_validate(table), replay.http,
                                    env={"BSKY_PASSWORD": "app-pass"})
        first = await connector.poll(None)
        await connector.poll(first.cursor)
        anonymous = build_connector(
            ConnectorSettings.model_validate({**table, "handle": None, "app_password_env": None}), replay.http, env={}
        )
        with pytest.raises(PermanentError) as info:
            await anonymous.poll(None)
    paths = [r.path for r in app[REPLAY_LOG]]
    assert len(first.mentions) == 7 and paths.count("/bluesky/xrpc/com.atproto.server.createSession") == 1
    assert info.value.status == 401


async def test_bluesky_expired_token_refreshed(replay: Replay) -> None:
    """An ExpiredToken answer triggers one refreshSession, then the search is repeated."""
    app = create_replay_app(SAMPLES_DIR, clock=replay.clock.now, bluesky_auth=True)
    async with serve_app(app) as base:
        table = {**next(t for t in sample_settings(base) if t["name"] == "bluesky"), "token_env": "BSKY_TOKEN"}
        connector = build_connector(ConnectorSettings.model_validate(table), replay.http,
                                    env={"BSKY_TOKEN": "access-expired"})
        connector._refresh = "refresh-1"  # type: ignore[attr-defined]  # as if a session had been created
        result = await connector.poll(None)
    paths = [r.path.rsplit("/", 1)[1] for r in app[REPLAY_LOG]]
    assert len(result.mentions) == 7
    assert paths == ["app.bsky.feed.searchPosts", "com.atproto.server.refreshSession", "app.bsky.feed.searchPosts"]


async def _error_server(status: int, body: dict[str, Any]) -> tuple[web.Application, list[str]]:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app, seen


async def test_youtube_quota_exceeded_stops_until_pacific_midnight(replay: Replay) -> None:
    """quotaExceeded is not retried: RateLimited until the next midnight in California."""
    app, seen = await _error_server(403, {"error": {"code": 403, "errors": [{"reason": "quotaExceeded"}]}})
    async with serve_app(app) as base:
        table = {"name": "yt", "type": "youtube", "base_url": base, "query": ["lumetta"], "video_ids": ["LmT7aR1aQ0s"],
                 "allow_private_hosts": True}
        connector = build_connector(ConnectorSettings.model_validate(table), replay.http, env={})
        with pytest.raises(RateLimited) as info:
            await connector.poll(None)
    assert len(seen) == 1 and info.value.retry_at == datetime(2026, 3, 11, 7, tzinfo=UTC)


async def test_x_usage_cap_is_permanent(replay: Replay) -> None:
    """A usage-capped 429 from X is not retried."""
    app, seen = await _error_server(429, {"title": "UsageCapExceeded", "type": "https://api.x.com/2/problems/usage-capped"})
    async with serve_app(app) as base:
        table = {"name": "x", "type": "x", "base_url": base, "query": ["lumetta"], "allow_private_hosts": True}
        connector = build_connector(ConnectorSettings.model_validate(table), replay.http, env={"T": "t"})
        with pytest.raises(PermanentError, match="usage cap"):
            await connector.poll(None)
    assert len(seen) == 1


async def test_repeated_page_token_keeps_old_cursor(replay: Replay) -> None:
    """A server repeating a page token fails the stream (PayloadError) and the old cursor is kept."""
    from connectors.errors import PayloadError
    from connectors.replay import REPLAY_PLAN, FaultPlan

    connector = replay.connector("bluesky", page_size=2)
    first = await connector.poll(None)
    replay.publish("bluesky", fresh_items("bluesky", 6, START + timedelta(minutes=1)))
    plan: FaultPlan = replay.app[REPLAY_PLAN]
    plan.repeat_rate = 1.0
    with pytest.raises(PayloadError, match="repeated page token"):
        await connector.poll(first.cursor)
    plan.repeat_rate = 0.0
    again = await connector.poll(first.cursor)
    assert len(again.mentions) == 6


async def test_mastodon_server_ignoring_min_id_loses_nothing(replay: Replay) -> None:
    """A server that answers the newest page instead of the one after ``min_id`` fails the stream
    (PayloadError) with the cursor kept, rather than jumping over the items in between; once it
    honours ``min_id`` again every new status arrives."""
    from connectors.errors import PayloadError
    from connectors.replay import REPLAY_PLAN, FaultPlan

    connector = replay.connector("mastodon", page_size=2, query=["lumetta"])
    first = await connector.poll(None)
    fresh = fresh_items("mastodon", 6, START + timedelta(minutes=1))
    replay.publish("mastodon", fresh)
    plan: FaultPlan = replay.app[REPLAY_PLAN]
    plan.repeat_rate = 1.0  # every answer is the newest page, whatever the bounds
    with pytest.raises(PayloadError, match="left out status"):
        await connector.poll(first.cursor)
    plan.repeat_rate = 0.0
    again = await connector.poll(first.cursor)
    assert sorted(m.external_id for m in again.mentions) == sorted(s["uri"] for s in fresh)
    assert (await connector.poll(again.cursor)).mentions == []


async def test_mastodon_pages_that_start_with_their_anchor_need_no_gap_probe(replay: Replay) -> None:
    """On a server that honours ``min_id`` each page is asked from just below its anchor, starts with
    the anchor (stored already, not returned again) and so follows it: no probe, nothing fails."""
    connector = replay.connector("mastodon", page_size=3, query=["lumetta"])
    first = await connector.poll(None)
    replay.publish("mastodon", fresh_items("mastodon", 6, START + timedelta(minutes=1)))
    before = len(replay.app[REPLAY_LOG])
    second = await connector.poll(first.cursor)
    asked = replay.app[REPLAY_LOG][before:]
    assert len(second.mentions) == 6 and not second.errors
    assert not [r for r in asked if r.query.get("max_id")]  # no probe
    anchors = [next(iter(first.cursor["streams"].values()))["min_id"]] + [m.raw["id"] for m in second.mentions[1::2]]
    assert [r.query["min_id"] for r in asked] == [str(int(a) - 1) for a in anchors]  # 3 pages and the last
    assert (await connector.poll(second.cursor)).mentions == []


async def test_mastodon_full_page_without_its_anchor_is_checked_by_a_probe(replay: Replay) -> None:
    """When the anchor is no longer returned (deleted, or edited out of the search), a full page
    cannot prove it follows it: a one-status probe looks between the two, finds nothing, and the
    walk goes on with every new status."""
    connector = replay.connector("mastodon", page_size=3, query=["lumetta"])
    first = await connector.poll(None)
    anchor = next(iter(first.cursor["streams"].values()))["min_id"]
    store = replay.app[REPLAY_STORE]
    gone = [{**s, "content": "<p>nothing to see</p>"} for s in store.items["mastodon"] if str(s["id"]) == anchor]
    assert gone
    store.add("mastodon", gone)  # an edit that takes it out of the search
    fresh = fresh_items("mastodon", 6, START + timedelta(minutes=1))
    replay.publish("mastodon", fresh)
    before = len(replay.app[REPLAY_LOG])
    second = await connector.poll(first.cursor)
    probes = [r for r in replay.app[REPLAY_LOG][before:] if r.query.get("max_id")]
    assert sorted(m.external_id for m in second.mentions) == sorted(s["uri"] for s in fresh) and not second.errors
    assert len(probes) == 1 and probes[0].query == {**probes[0].query, "limit": "1", "min_id": anchor}


async def test_mastodon_pages_of_one_walk_from_the_cursor_itself(replay: Replay) -> None:
    """A page of one status cannot carry the anchor as overlap (it would read as "nothing new"):
    such pages are asked from the cursor itself, and every new status arrives."""
    connector = replay.connector("mastodon", page_size=1, query=["lumetta"])
    first = await connector.poll(None)
    fresh = fresh_items("mastodon", 3, START + timedelta(minutes=1))
    replay.publish("mastodon", fresh)
    second = await connector.poll(first.cursor)
    assert sorted(m.external_id for m in second.mentions) == sorted(s["uri"] for s in fresh) and not second.errors
