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

from tests.conformance.feedserver import START, PayloadServer, payload_server

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
    assert set(by_uri) == {"3lbadclock01", "3lbadclock02", "3lfarfuture", "3lnoauthor"}
    assert by_uri["3lbadclock01"].created_at == datetime(2026, 3, 9, 8, 15, 2, 311000, tzinfo=UTC)
    assert all(by_uri[k].provenance["created_at"].startswith("indexedAt (record.createdAt")
               for k in ("3lbadclock01", "3lbadclock02", "3lfarfuture"))
    assert any(w.kind == "date" and "3 items" in w.message for w in result.warnings)
    # a post whose author view is missing is still read: its repository (the uri's DID) is its author
    assert by_uri["3lnoauthor"].url == "https://bsky.app/profile/did:plc:q0q0q0q0/post/3lnoauthor"
    assert by_uri["3lnoauthor"].author_handle is None and result.rejects == []


async def test_bluesky_bad_item_dead_lettered_once(server: PayloadServer) -> None:
    """A post whose record is not an object comes back on the next poll with a new like count: it
    is remembered by its uri and not dead-lettered again."""
    payload = load("bluesky_bad_created_at.json")
    payload["posts"][3]["record"] = "app.bsky.feed.post"
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


async def test_mastodon_statuses_with_null_and_broken_fields_are_stored(server: PayloadServer) -> None:
    """Mastodon-API servers (Akkoma, GoToSocial ...) send nulls and odd dates: a status with text
    is stored, its date taken from edited_at or the fetch time and said so; a boost whose boosted
    post came without text keeps the wrapper's."""
    serve_json(server, "/masto/api/v2/search", load("mastodon_null_fields.json"))
    connector = server.connector({"name": "md", "type": "mastodon", "base_url": f"{server.base}/masto",
                                  "query": ["lumetta"]})
    result = await connector.poll(None)
    assert result.rejects == []
    by_uri = {m.external_id.rsplit("/", 1)[-1]: m for m in result.mentions}
    assert set(by_uri) == {"5f1c0d2e", "01HQ", "113000000000000003", "activity"}
    undated = by_uri["5f1c0d2e"]
    assert undated.created_at == START and undated.provenance["created_at"].startswith("fetch time")
    assert by_uri["01HQ"].created_at == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
    assert by_uri["01HQ"].provenance["created_at"].startswith("edited_at (created_at '2026-03-09T25:61:00Z'")
    assert by_uri["113000000000000003"].edited_at is None
    assert by_uri["activity"].text == "Boosting: the Lumetta recall covers batch 42 only"
    assert by_uri["activity"].original_external_id == "https://news.example/users/lumetta/statuses/9"


async def test_reddit_items_with_missing_fields_are_stored(server: PayloadServer) -> None:
    """A post without a title, a comment with only body_html, comments without created_utc: all
    have text and are stored (created from ``created``, else the fetch time, said so); ``more`` is skipped."""
    serve_json(server, "/reddit/search", load("reddit_missing_fields.json"))
    connector = server.connector({"name": "rd", "type": "reddit", "base_url": f"{server.base}/reddit",
                                  "query": ["lumetta"]})
    result = await connector.poll(None)
    assert result.rejects == []
    by_id = {m.external_id: m for m in result.mentions}
    assert set(by_id) == {"t3_b7x9q", "t1_k1m2n3", "t1_k1m2n4", "t1_k1m2n5"}
    assert by_id["t3_b7x9q"].text == "My Lumetta Duetto leaks after descaling, anyone else?"
    assert by_id["t1_k1m2n3"].text == "Same with my Lumetta, support replaced the gasket"
    assert by_id["t1_k1m2n4"].created_at == datetime(2026, 3, 9, 12, tzinfo=UTC)
    assert by_id["t1_k1m2n4"].provenance["created_at"] == "created"
    assert by_id["t1_k1m2n5"].created_at == START and by_id["t1_k1m2n5"].provenance["created_at"].startswith("fetch")


async def test_bluesky_post_with_broken_reply_refs_is_stored(server: PayloadServer) -> None:
    """A reply ref that is null or a bare string and null langs do not cost the post its text."""
    serve_json(server, "/bsky/xrpc/app.bsky.feed.searchPosts", load("bluesky_broken_refs.json"))
    connector = server.connector({"name": "sky", "type": "bluesky", "base_url": f"{server.base}/bsky",
                                  "query": ["lumetta"]})
    result = await connector.poll(None)
    assert result.rejects == [] and len(result.mentions) == 1
    mention = result.mentions[0]
    assert mention.text == "@lumetta.com la mia Duetto non scalda più"
    assert mention.reply_to_id is None and mention.thread_id is None and mention.language is None
