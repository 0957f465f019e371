"""Thread context from each platform: ``fetch_context`` asks the platform's read API for the ids
mentions carry (tests/context_platform.py serves fixtures in each platform's documented format over
real HTTP), keys each post as the mention names it, and tells deleted posts apart; a platform without
such a lookup gives nothing."""
from __future__ import annotations

from collections.abc import AsyncIterator
from random import Random
from typing import Any

import aiohttp
import pytest

from connectors.config import ConnectorSettings
from connectors.context import fetch_context
from connectors.errors import PermanentError
from connectors.fake import FakeClock
from connectors.http import HttpClient
from connectors.netguard import guarded_tcp_connector
from connectors.registry import build_connector
from connectors.testing import serve_app
from tests.context_platform import ContextPlatforms, context_tables

BSKY_ROOT = "at://did:plc:acme000000000000000000000/app.bsky.feed.post/3kctxroot001"
BSKY_PARENT = "at://did:plc:paola00000000000000000000/app.bsky.feed.post/3kctxpar0001"


@pytest.fixture
async def platform() -> AsyncIterator[tuple[ContextPlatforms, str]]:
    fake = ContextPlatforms()
    async with serve_app(fake.app()) as base:
        yield fake, base


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    clock = FakeClock()
    async with aiohttp.ClientSession(connector=guarded_tcp_connector()) as session:
        yield HttpClient(session, clock=clock.now, sleep=clock.sleep, random=Random(0))


def _connector(base: str, http: HttpClient, name: str) -> Any:
    table = next(t for t in context_tables(base) if t["name"] == name)
    return build_connector(ConnectorSettings(**table), http, env={})


async def test_mastodon_fetches_statuses_by_id_and_remembers_a_404(platform: Any, http: HttpClient) -> None:
    fake, base = platform
    got = await fetch_context(_connector(base, http, "mastodon"), ["110000000000000001", "110000000000000404"])
    post = got.posts["110000000000000001"]
    assert post.text == "Our new kettle is out & shipping today"
    assert post.author_handle == "acme@mastodon.example" and post.url == "https://mastodon.example/@acme/110000000000000001"
    assert got.missing == {"110000000000000404"}
    assert fake.requests == ["/mastodon/api/v1/statuses/110000000000000001",
                             "/mastodon/api/v1/statuses/110000000000000404"]


async def test_bluesky_asks_get_posts_for_the_uris_in_one_request(platform: Any, http: HttpClient) -> None:
    fake, base = platform
    gone = "at://did:plc:acme000000000000000000000/app.bsky.feed.post/3kgone"
    got = await fetch_context(_connector(base, http, "bluesky"), [BSKY_PARENT, BSKY_ROOT, gone, "https://evil.example/x"])
    assert got.posts[BSKY_ROOT].text == "Winter sale starts Monday"
    assert got.posts[BSKY_PARENT].author_handle == "paola.bsky.social"
    assert got.posts[BSKY_PARENT].text == "Does it include the <script>alert(1)</script> blender?"  # escaped when shown
    assert got.missing == {gone, "https://evil.example/x"}  # not a platform id: never requested
    assert len(fake.requests) == 1 and fake.requests[0].startswith("/bluesky/xrpc/app.bsky.feed.getPosts?uris=")
    assert "evil" not in fake.requests[0]


async def test_bluesky_batches_by_25(platform: Any, http: HttpClient) -> None:
    fake, base = platform
    uris = [f"at://did:plc:x/app.bsky.feed.post/{i}" for i in range(30)] + [BSKY_ROOT]
    got = await fetch_context(_connector(base, http, "bluesky"), uris)
    assert list(got.posts) == [BSKY_ROOT] and len(got.missing) == 30 and len(fake.requests) == 2


async def test_reddit_info_by_fullnames_and_a_deleted_comment_is_missing(platform: Any, http: HttpClient) -> None:
    fake, base = platform
    got = await fetch_context(_connector(base, http, "reddit"), ["t1_kpar01", "t3_1hroot", "t1_kgone1", "t1_nothere"])
    assert got.posts["t3_1hroot"].text == "Acme kettle: worth it?\nThinking of buying one."
    assert got.posts["t1_kpar01"].author_handle == "leaky_l"
    assert got.missing == {"t1_kgone1", "t1_nothere"}
    assert fake.requests == ["/reddit/api/info?id=t1_kpar01,t3_1hroot,t1_kgone1,t1_nothere&raw_json=1"]


async def test_x_looks_tweets_up_with_their_authors(platform: Any, http: HttpClient) -> None:
    fake, base = platform
    got = await fetch_context(_connector(base, http, "x"), ["1863000000000000100", "1863000000000000001",
                                                            "1863000000000000404"])
    assert got.posts["1863000000000000001"].text == "Acme kettles now ship to Italy https://acme.example/it"
    assert got.posts["1863000000000000100"].author_handle == "tom_r"
    assert got.posts["1863000000000000100"].text == "@acme mine arrived broken & nobody answers"
    assert got.missing == {"1863000000000000404"}
    assert fake.requests[0].startswith("/x/2/tweets?ids=1863000000000000100,1863000000000000001,1863000000000000404")
    assert "expansions=author_id" in fake.requests[0]


async def test_youtube_comments_and_the_video(platform: Any, http: HttpClient) -> None:
    fake, base = platform
    got = await fetch_context(_connector(base, http, "youtube"), ["UgzCtxParent0001AaABAg", "F1UP7wRCPH8",
                                                                  "UgzGoneGoneGone0AaABAg"])
    assert got.posts["UgzCtxParent0001AaABAg"].text == "Which model is this? It's great"
    assert got.posts["F1UP7wRCPH8"].text == "Acme Kettle 2 & review\nUnboxing the new kettle."
    assert got.posts["F1UP7wRCPH8"].author_handle == "Acme Official"
    assert got.missing == {"UgzGoneGoneGone0AaABAg"}
    assert sorted(r.split("?")[0] for r in fake.requests) == ["/youtube/youtube/v3/comments",
                                                              "/youtube/youtube/v3/videos"]


async def test_hackernews_items_404_and_deleted_are_missing(platform: Any, http: HttpClient) -> None:
    fake, base = platform
    got = await fetch_context(_connector(base, http, "hackernews"), ["41000001", "41000002", "41000003", "41000404"])
    assert got.posts["41000001"].text == "Acme open-sources its kettle firmware"
    assert got.posts["41000002"].text == "The licence is GPL, nice."
    assert got.posts["41000002"].author_handle == "hacker_h"
    assert got.missing == {"41000003", "41000404"}


async def test_a_503_is_retried_and_a_403_raises(platform: Any, http: HttpClient) -> None:
    fake, base = platform
    fake.fail_next["reddit"] = 1
    got = await fetch_context(_connector(base, http, "reddit"), ["t1_kpar01"])
    assert list(got.posts) == ["t1_kpar01"] and len(fake.requests) == 2
    fake.refuse["mastodon"] = 401
    with pytest.raises(PermanentError) as err:
        await fetch_context(_connector(base, http, "mastodon"), ["110000000000000001"])
    assert err.value.status == 401


async def test_rss_gives_nothing(http: HttpClient) -> None:
    rss = build_connector(ConnectorSettings(name="feed", type="rss", feeds=["http://127.0.0.1:9/feed.xml"],
                                            allow_private_hosts=True, interval="1h"), http, env={})
    got = await fetch_context(rss, ["anything"])
    assert got.posts == {} and got.missing == set()
