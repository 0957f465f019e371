"""Conformance: every connector over the shared recorded fixtures (../shared/fixtures) produces
normalized mentions: ids, links, plain text, aware dates, authors, languages, repost flags."""
from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from random import Random
from typing import Any

import aiohttp
import pytest

from connectors.base import Mention, Reject
from connectors.bluesky import parse_search_posts
from connectors.config import ConnectorSettings
from connectors.errors import PayloadError
from connectors.hackernews import parse_search
from connectors.http import HttpClient
from connectors.mastodon import parse_statuses
from connectors.reddit import parse_listing
from connectors.registry import build_connector
from connectors.replay import create_replay_app
from connectors.rss import parse_feed
from connectors.testing import serve_app
from connectors.webhook import parse_webhook_payload
from connectors.x import parse_search_recent
from connectors.youtube import parse_comment_threads, parse_video_search

SHARED_FIXTURES = (Path(__file__).parents[2] / ".." / "shared" / "fixtures").resolve()
_TAG = re.compile(  # leftover markup: HTML tag names only ("<module>" in a traceback is text)
    r"</?(p|br|a|span|div|b|i|em|strong|ul|ol|li|img|code|pre|blockquote|h[1-6]|table|tr|td)(\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_ENTITY = re.compile(r"&(amp|lt|gt|quot|nbsp|#x?[0-9a-fA-F]+);")
_NO_LANG = {"und", "zxx", "qme", "qam", "qct", "qht", "qst"}


@pytest.fixture(scope="module")
def fixtures() -> Path:
    """The shared fixtures folder: a CI run without it fails, a local run skips."""
    if not SHARED_FIXTURES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared fixtures missing at {SHARED_FIXTURES}")
        pytest.skip(f"shared fixtures not found at {SHARED_FIXTURES}")
    return SHARED_FIXTURES


def check_mention(mention: Mention, *, has_author: bool = True, language: str | None = None) -> None:
    assert mention.external_id and isinstance(mention.external_id, str)
    assert mention.text.strip(), mention.external_id
    assert not _TAG.search(mention.text), f"HTML left in {mention.external_id}: {mention.text[:120]!r}"
    assert not _ENTITY.search(mention.text), f"entity left in {mention.external_id}: {mention.text[:120]!r}"
    assert mention.text == mention.text.strip() and "  " not in mention.text
    if mention.platform != "webhook":
        assert mention.url and mention.url.startswith(("http://", "https://")), mention.url
    if mention.created_at is not None:
        assert mention.created_at.tzinfo is not None and mention.created_at.utcoffset().total_seconds() == 0
    if has_author:
        assert mention.author_handle, mention.external_id
    if language is not None:
        assert mention.language == language, (mention.external_id, mention.language, language)
    assert mention.raw is not None


def load(fixtures: Path, name: str) -> Any:
    return json.loads((fixtures / name).read_text(encoding="utf-8"))


def parsed(result: tuple[list[Mention], list[Reject]]) -> list[Mention]:
    mentions, rejects = result
    assert rejects == [], [r.reason for r in rejects]
    assert mentions
    return mentions


@pytest.mark.parametrize("name", ["search_v2_statuses.json", "timeline_tag.json", "status_edited.json"])
def test_mastodon(fixtures: Path, name: str) -> None:
    """Statuses: uri ids, HTML stripped, fully qualified handles, language, boosts flagged, edits dated."""
    payload = load(fixtures, f"mastodon/{name}")
    statuses = [payload] if "uri" in payload else payload
    for mention, status in zip(parsed(parse_statuses(statuses, source="m", instance_host="mastodon.social")),
                               statuses.get("statuses", statuses) if isinstance(statuses, dict) else statuses,
                               strict=False):
        check_mention(mention, language=status.get("language"))
        assert mention.external_id == status["uri"] and mention.created_at is not None
        assert "@" in (mention.author_handle or "")
        assert mention.is_repost == (status.get("reblog") is not None)
        assert (mention.edited_at is not None) == (status.get("edited_at") is not None)


def test_mastodon_error_bodies_are_not_mentions(fixtures: Path) -> None:
    """Error bodies (404, 429) are refused as payloads, never turned into mentions."""
    for name in ("error_404_status_not_found.json", "error_429_rate_limited.json"):
        with pytest.raises(PayloadError):
            parse_statuses(load(fixtures, f"mastodon/{name}"), source="m")


def test_bluesky(fixtures: Path) -> None:
    """Posts: at:// ids, bsky.app links by DID, langs[0], replies point at parent and root."""
    payload = load(fixtures, "bluesky/search_posts.json")
    for mention, post in zip(parsed(parse_search_posts(payload, source="b")), payload["posts"], strict=False):
        langs = post["record"].get("langs") or []
        check_mention(mention, language=langs[0] if langs else None)
        assert mention.url == f"https://bsky.app/profile/{post['author']['did']}/post/{post['uri'].rsplit('/', 1)[1]}"
        assert (mention.reply_to_id is not None) == ("reply" in post["record"])
        assert not mention.is_repost and mention.created_at is not None


@pytest.mark.parametrize("name", ["search_all.json", "subreddit_new.json", "subreddit_comments.json",
                                  "subreddit_comments_before.json"])
def test_reddit(fixtures: Path, name: str) -> None:
    """Listings: fullname ids, reddit.com permalinks, created_utc as aware UTC, crossposts flagged."""
    payload = load(fixtures, f"reddit/{name}")
    for mention, child in zip(parsed(parse_listing(payload, source="r")), payload["data"]["children"], strict=False):
        check_mention(mention)
        assert mention.external_id == child["data"]["name"] and mention.external_id[:3] in ("t1_", "t3_")
        assert mention.url and mention.url.startswith("https://www.reddit.com/r/")
        assert mention.is_repost == bool(child["data"].get("crosspost_parent"))


@pytest.mark.parametrize("name", ["search_by_date_comments.json", "search_docs_example.json"])
def test_hackernews(fixtures: Path, name: str) -> None:
    """Hits: objectID ids, item links, comment HTML decoded, never the highlight markup."""
    payload = load(fixtures, f"hackernews/{name}")
    for mention, hit in zip(parsed(parse_search(payload, source="h")), payload["hits"], strict=False):
        check_mention(mention)
        assert mention.url == f"https://news.ycombinator.com/item?id={hit['objectID']}"
        assert "<em>" not in mention.text
        assert (mention.created_at is not None) == ("created_at" in hit)


@pytest.mark.parametrize(("name", "language"), [
    ("news_guardian_rss2.xml", "en-gb"), ("news_heise_atom.xml", None), ("google_alerts.atom.xml", None),
])
def test_rss(fixtures: Path, name: str, language: str | None) -> None:
    """Feeds: guid/id identity, real article links (Alerts unwrapped), plain text, channel language."""
    mentions = parsed(parse_feed((fixtures / "rss" / name).read_bytes(), source="n"))
    for mention in mentions:
        check_mention(mention, has_author=name != "google_alerts.atom.xml", language=language)
        assert mention.created_at is not None
        assert "google.com/url" not in (mention.url or "")
    assert len({m.external_id for m in mentions}) == len(mentions)


@pytest.mark.parametrize("name", ["search_recent.json", "search_recent_with_retweets.json",
                                  "search_recent_nyc_next_token.json", "quote_tweets_with_includes_users.json",
                                  "search_recent_docs_example.json"])
def test_x(fixtures: Path, name: str) -> None:
    """Tweets: string ids, x.com links, users from includes, RT @ marked as reposts, entities decoded."""
    payload = load(fixtures, f"x_twitter/{name}")
    users = {u["id"] for u in (payload.get("includes") or {}).get("users", [])}
    for mention, tweet in zip(parsed(parse_search_recent(payload, source="x")), payload["data"], strict=False):
        lang = tweet.get("lang")
        check_mention(mention, has_author="author_id" in tweet, language=None if lang in _NO_LANG else lang)
        assert mention.is_repost == (tweet["text"].startswith("RT @") or any(
            r.get("type") == "retweeted" for r in tweet.get("referenced_tweets") or []))
        if tweet.get("author_id") in users:
            assert mention.url and "/i/web/" not in mention.url


def test_x_error_bodies_have_no_mentions(fixtures: Path) -> None:
    """Problem+json error bodies carry no data and produce no mentions."""
    for name in ("error_400_invalid_request.json", "error_429_too_many_requests.json"):
        assert parse_search_recent(load(fixtures, f"x_twitter/{name}"), source="x") == ([], [])


@pytest.mark.parametrize("name", ["comment_threads_search_terms.json", "comment_threads_by_video.json"])
def test_youtube_comments(fixtures: Path, name: str) -> None:
    """Comment threads: comment ids, watch?v=&lc= links, textDisplay HTML stripped."""
    for mention in parsed(parse_comment_threads(load(fixtures, f"youtube/{name}"), source="y")):
        check_mention(mention)
        assert mention.url and "lc=" + mention.external_id in mention.url and mention.created_at is not None


def test_youtube_video_search(fixtures: Path) -> None:
    """Video search results: videoId ids, entity-free titles."""
    for mention in parsed(parse_video_search(load(fixtures, "youtube/search_by_keywords.json"), source="y")):
        check_mention(mention)


def test_webhook_typeform(fixtures: Path) -> None:
    """The Typeform delivery maps to one mention keyed by event_id."""
    mentions = parsed(
        parse_webhook_payload((fixtures / "webhooks" / "typeform_form_response.json").read_bytes(), source="w")
    )
    check_mention(mentions[0], has_author=False)
    assert mentions[0].external_id == "01CDN97QBA86B8VKZY5BFDBC2J" and mentions[0].created_at is not None


_CONNECTORS: dict[str, Callable[[str], dict[str, Any]]] = {
    "mastodon": lambda b: {"type": "mastodon", "base_url": f"{b}/mastodon", "query": ["any", "#hoot"]},
    "bluesky": lambda b: {"type": "bluesky", "base_url": f"{b}/bluesky", "query": ["any"]},
    "reddit": lambda b: {"type": "reddit", "base_url": f"{b}/reddit", "query": ["any"]},
    "hackernews": lambda b: {"type": "hackernews", "base_url": f"{b}/hackernews", "query": ["any"]},
    "rss": lambda b: {"type": "rss", "feeds": [f"{b}/rss/news_guardian_rss2.xml", f"{b}/rss/news_heise_atom.xml",
                                               f"{b}/rss/google_alerts.atom.xml"]},
    "x": lambda b: {"type": "x", "base_url": f"{b}/x", "query": ["any"]},
    "youtube": lambda b: {"type": "youtube", "base_url": f"{b}/youtube", "query": ["any"],
                          "video_ids": ["F1UP7wRCPH8"], "channel_id": "UC_x5XG1OV2P6uZZ5FSM9Ttw",
                          "options": {"search_videos": True}},
}


@pytest.fixture
async def replay_base(fixtures: Path) -> AsyncIterator[str]:
    async with serve_app(create_replay_app(fixtures, match_queries=False)) as base:
        yield base


@pytest.mark.parametrize("kind", list(_CONNECTORS))
async def test_connector_over_replayed_fixtures(replay_base: str, kind: str) -> None:
    """Each connector, polling the fixtures through the replay server, returns clean mentions once."""
    table = {"name": f"c-{kind}", "allow_private_hosts": True, **_CONNECTORS[kind](replay_base)}
    async with aiohttp.ClientSession() as session:
        connector = build_connector(
            ConnectorSettings.model_validate(table), HttpClient(session, random=Random(0)), env={}
        )
        first = await connector.poll(None)
        second = await connector.poll(first.cursor)
    assert first.mentions and not first.errors and not first.rejects
    for mention in first.mentions:
        check_mention(mention, has_author=kind not in ("rss", "x"))
        assert mention.source == f"c-{kind}" and mention.platform == kind
    assert len({m.external_id for m in first.mentions}) == len(first.mentions)
    assert second.mentions == []
