"""Helpers for tests that poll connectors against a real local server (ours and the inbox's).

    clock = FakeClock()
    async with serve_app(create_replay_app(SAMPLES_DIR, clock=clock.now)) as base_url:
        async with aiohttp.ClientSession() as session:
            http = HttpClient(session, clock=clock.now, sleep=clock.sleep, random=Random(0))
            ...
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .fake import FakeClock, FakeConnector, make_mention

__all__ = ["serve_app", "FakeClock", "FakeConnector", "make_mention", "sample_settings", "fresh_items"]


@asynccontextmanager
async def serve_app(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Run ``app`` on an ephemeral port; yield its base URL (``http://127.0.0.1:PORT``)."""
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def sample_settings(base_url: str) -> list[dict[str, Any]]:
    """``[[connectors]]`` tables polling the bundled samples served by the replay app at
    ``base_url`` (what ``social-inbox demo`` configures; ``allow_private_hosts`` is on because the
    replay server listens on loopback)."""
    common: Mapping[str, Any] = {"allow_private_hosts": True, "interval": "5m"}
    return [
        {
            "name": "mastodon",
            "type": "mastodon",
            "base_url": f"{base_url}/mastodon",
            "query": ["lumetta", "#lumetta"],
            **common,
        },
        {"name": "bluesky", "type": "bluesky", "base_url": f"{base_url}/bluesky", "query": ["lumetta"], **common},
        {
            "name": "reddit",
            "type": "reddit",
            "base_url": f"{base_url}/reddit",
            "query": ["lumetta"],
            "subreddits": ["espresso"],
            **common,
        },
        {
            "name": "hackernews",
            "type": "hackernews",
            "base_url": f"{base_url}/hackernews",
            "query": ["lumetta"],
            **common,
        },
        {
            "name": "news",
            "type": "rss",
            "feeds": [
                f"{base_url}/rss/economia_it.rss.xml",
                f"{base_url}/rss/business_en.atom.xml",
                f"{base_url}/rss/google_alerts_lumetta.atom.xml",
            ],
            **common,
        },
        {"name": "x", "type": "x", "base_url": f"{base_url}/x", "query": ["lumetta"], **common},
        {
            "name": "youtube",
            "type": "youtube",
            "base_url": f"{base_url}/youtube",
            "query": ["lumetta"],
            "video_ids": ["LmT7aR1aQ0s"],
            **common,
        },
    ]


_X_EPOCH_MS = 1288834974657


def fresh_items(
    platform: str, count: int, at: datetime, *, tag: str = "fresh", step: float = 1.0
) -> list[dict[str, Any]]:
    """``count`` new items mentioning "Lumetta" for ``ReplayStore.add(platform, ...)``, published at
    ``at``, ``at + step`` s, ... (newer items get larger ids, as on the platforms)."""
    items: list[dict[str, Any]] = []
    for i in range(count):
        when = at + timedelta(seconds=i * step)
        iso = when.astimezone(UTC).isoformat().replace("+00:00", "Z")
        text = f"Lumetta {tag} {i}: my machine needs help"
        ms = int(when.timestamp() * 1000)
        if platform == "mastodon":
            sid = str((ms << 16) | (i % 65536))
            items.append({"id": sid, "uri": f"https://fresh.example/users/u/statuses/{tag}-{i}", "url": None,
                          "created_at": iso, "language": "en", "spoiler_text": "", "content": f"<p>{text}</p>",
                          "reblog": None, "account": {"acct": f"user{i}", "url": "https://fresh.example/@u",
                                                      "display_name": f"User {i}"}})
        elif platform == "bluesky":
            items.append({"uri": f"at://did:plc:fresh/app.bsky.feed.post/{tag}{i}", "cid": f"c{tag}{i}",
                          "author": {"did": "did:plc:fresh", "handle": "fresh.bsky.social"},
                          "record": {"text": text, "createdAt": iso, "langs": ["en"]}, "indexedAt": iso})
        elif platform == "reddit":
            items.append({"kind": "t3", "data": {"name": f"t3_{tag}{i}", "title": text, "selftext": "", "author": "u",
                                                 "created_utc": when.timestamp(), "subreddit": "espresso",
                                                 "permalink": f"/r/espresso/comments/{tag}{i}/x/"}})
        elif platform == "hackernews":
            items.append({"objectID": str(int(when.timestamp()) * 100 + i), "created_at": iso,
                          "created_at_i": int(when.timestamp()), "author": "u", "comment_text": f"<p>{text}</p>",
                          "_tags": ["comment"], "story_id": 1, "parent_id": 1})
        elif platform == "x":
            tid = str(((ms - _X_EPOCH_MS) << 22) | (i % 4096))
            items.append({"id": tid, "text": text, "created_at": iso, "lang": "en", "author_id": "1501000000000000001",
                          "edit_history_tweet_ids": [tid]})
        elif platform == "youtube":
            cid = f"Ug{tag}{i:04d}AaABAg"
            items.append({"kind": "youtube#commentThread", "id": cid, "snippet": {
                "videoId": "LmT7aR1aQ0s", "channelId": "UCLumettaRev1ews000000", "totalReplyCount": 0,
                "topLevelComment": {"kind": "youtube#comment", "id": cid, "snippet": {
                    "authorDisplayName": "@fresh", "videoId": "LmT7aR1aQ0s", "textDisplay": text,
                    "publishedAt": iso, "updatedAt": iso, "likeCount": 0}}}})
        else:
            raise ValueError(f"no fresh items for {platform}")
    return items
