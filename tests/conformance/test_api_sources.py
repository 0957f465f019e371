"""Conformance: platform API pages as the platforms serve them (fixtures in
tests/fixtures/connectors/api), over HTTP from a local server: client-set dates that are not
dates, comments without a permalink, search results that are not posts, a bad item seen again on
every poll."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.feedserver import PayloadServer, payload_server

API = Path(__file__).resolve().parents[1] / "fixtures" / "connectors" / "api"


def load(name: str) -> Any:
    return json.loads((API / name).read_text())


@pytest.fixture
async def server() -> AsyncIterator[PayloadServer]:
    async with payload_server() as running:
        yield running


def serve_json(server: PayloadServer, path: str, payload: Any) -> None:
    server.put(path, json.dumps(payload).encode(), "application/json; charset=utf-8")


async def test_bluesky_invalid_created_at_falls_back_to_indexed_at(server: PayloadServer) -> None:
    """A createdAt that is no date (zeros, words, year 9999) gives way to indexedAt, and the
    mention says so; nothing is dead-lettered for it."""
    serve_json(server, "/bsky/xrpc/app.bsky.feed.searchPosts", load("bluesky_bad_created_at.json"))
    connector = server.connector({"name": "sky", "type": "bluesky", "base_url": f"{server.base}/bsky",
                                  "query": ["lumetta"]})
    result = await connector.poll(None)
    by_uri = {m.external_id.rsplit("/", 1)[-1]: m for m in result.mentions}
    assert set(by_uri) == {"3lbadclock01", "3lbadclock02", "3lfarfuture"}
    assert by_uri["3lbadclock01"].created_at == datetime(2026, 3, 9, 8, 15, 2, 311000, tzinfo=UTC)
    assert all(m.provenance["created_at"].startswith("indexedAt (record.createdAt") for m in by_uri.values())
    assert any(w.kind == "date" and "3 items" in w.message for w in result.warnings)
    assert [r.reason for r in result.rejects] == ["missing 'author'"]


async def test_bluesky_bad_item_dead_lettered_once(server: PayloadServer) -> None:
    """The post with no author view comes back on the next poll with a new like count: it is
    remembered by its uri and not dead-lettered again."""
    payload = load("bluesky_bad_created_at.json")
    serve_json(server, "/bsky/xrpc/app.bsky.feed.searchPosts", payload)
    connector = server.connector({"name": "sky", "type": "bluesky", "base_url": f"{server.base}/bsky",
                                  "query": ["lumetta"]})
    first = await connector.poll(None)
    payload["posts"][3]["likeCount"] = 8
    serve_json(server, "/bsky/xrpc/app.bsky.feed.searchPosts", payload)
    second = await connector.poll(first.cursor)
    third = await connector.poll(second.cursor)
    assert len(first.rejects) == 1 and second.rejects == [] and third.rejects == []
    assert second.mentions == [] and third.mentions == []


async def test_reddit_comments_without_permalink_get_urls(server: PayloadServer) -> None:
    """Old comments carry no permalink: their URL is built from link_id and id."""
    serve_json(server, "/reddit/search", load("reddit_comments_no_permalink.json"))
    connector = server.connector({"name": "rd", "type": "reddit", "base_url": f"{server.base}/reddit",
                                  "query": ["lumetta"]})
    result = await connector.poll(None)
    urls = {m.external_id: m.url for m in result.mentions}
    assert urls == {
        "t1_c0abc12": "https://www.reddit.com/r/espresso/comments/a1b2c/_/c0abc12/",
        "t1_c0abc13": "https://www.reddit.com/r/espresso/comments/a1b2c/_/c0abc13/",
        "t3_a1b2c": "https://www.reddit.com/r/espresso/comments/a1b2c/",
    }


async def test_youtube_channel_and_playlist_results_skipped(server: PayloadServer) -> None:
    """Video search can answer channels and playlists: they are not posts, so skipped, not dead-lettered."""
    serve_json(server, "/yt/youtube/v3/search", load("youtube_search_mixed_kinds.json"))
    connector = server.connector({"name": "yt", "type": "youtube", "base_url": f"{server.base}/yt",
                                  "query": ["lumetta"]})
    result = await connector.poll(None)
    assert [m.external_id for m in result.mentions] == ["Lm7Dz0Qx1aA"] and result.rejects == []
    assert result.mentions[0].text == ("Lumetta Duetto: recensione dopo 30 giorni\n"
                                       "Pro e contro della Lumetta Duetto & consigli")
