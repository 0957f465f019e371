"""Edits a platform re-delivers (an X post edited: a new id whose edit history starts with the
first one): the latest text is stored, the earlier one kept as a revision with its time and shown
on the item page and in the item API; the item is routed again on the new text only while nobody
has touched it. The item API and page also say where a mention's fields came from (a date taken
from another field, a detected charset). Real HTTP (a local server answering recent search), real
database (SQLite and PostgreSQL)."""
from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from connectors.bluesky import post_to_mention
from connectors.config import ConnectorSettings
from connectors.rss import read_feed
from connectors.testing import serve_app
from inbox.ingest.poll import Poller
from inbox.storage.repo import revisions
from inbox.storage.repo._common import T_EVENT, T_ITEM, T_MENTION
from inbox.web.app import create_app
from inbox.web.testing import SeedUser, seed_users, web_login
from inbox.work.item_actions import WorkService

API = Path(__file__).resolve().parents[1] / "fixtures" / "connectors" / "api"
FEEDS = API.parent / "feeds"


class Search:
    def __init__(self) -> None:
        self.body = b""
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        return web.Response(body=self.body, content_type="application/json")


@pytest.fixture
async def search() -> AsyncIterator[Search]:
    served = Search()
    app = web.Application()
    app.router.add_get("/x/2/tweets/search/recent", served.handle)
    async with serve_app(app) as base:
        served.base = base
        yield served


def x_cfg(search: Search) -> ConnectorSettings:
    return ConnectorSettings.model_validate({"name": "x", "type": "x", "base_url": f"{search.base}/x",
                                             "query": ["lumetta"], "allow_private_hosts": True})


async def poll_both(services: Any, search: Search, between: Any = None) -> dict[str, Any]:
    """Poll the original post, run ``between`` on its item, poll the edit; the item's state."""
    search.body = (API / "x_edit_original.json").read_bytes()
    async with Poller(services) as poller:
        await poller.poll(x_cfg(search))
        async with services.engine.connect() as conn:
            mid = (await conn.execute(select(T_MENTION.c.id).where(T_MENTION.c.external_id == "1898000000000000001"))
                   ).scalar_one()
            first_team = (await conn.execute(select(T_ITEM.c.team).where(T_ITEM.c.id == mid))).scalar_one()
        if between is not None:
            await between(mid)
        services.clock.advance(1800)
        search.body = (API / "x_edit_edited.json").read_bytes()
        out = await poller.poll(x_cfg(search))
    async with services.engine.connect() as conn:
        mention = (await conn.execute(select(T_MENTION).where(T_MENTION.c.id == mid))).one()._mapping
        team = (await conn.execute(select(T_ITEM.c.team).where(T_ITEM.c.id == mid))).scalar_one()
        kinds = list((await conn.execute(select(T_EVENT.c.kind).where(T_EVENT.c.item_id == mid)
                                         .order_by(T_EVENT.c.id))).scalars())
        earlier = await revisions.revisions_for(mid, conn=conn)
        count = len((await conn.execute(select(T_MENTION.c.id).where(T_MENTION.c.source == "x"))).all())
    return {"mid": mid, "first_team": first_team, "team": team, "mention": dict(mention), "events": kinds,
            "revisions": earlier, "mentions": count, "poll": out}


async def test_untouched_item_takes_the_edit_and_is_routed_again(services: Any, search: Search) -> None:
    """Nobody touched the item: its text is the edit's, the old text is a revision, and the new
    text sends it to customer care."""
    got = await poll_both(services, search)
    assert got["mentions"] == 1 and got["poll"]["edited"] == 1
    assert got["mention"]["text"] == "EDIT: my Lumetta order arrived broken, I want a refund"
    assert [r["text"] for r in got["revisions"]] == ["I love the new Lumetta price offer, great deal"]
    assert got["revisions"][0]["edited_at"] is not None
    assert got["first_team"] == "marketing" and got["team"] == "customer_care"
    assert got["events"] == ["routed", "routed"]


async def test_touched_item_keeps_its_team_and_records_the_edit(services: Any, search: Search) -> None:
    """An agent wrote a note first: the text is updated and the edit recorded, the team stays."""
    async with services.engine.begin() as conn:
        from inbox.storage.repo import accounts
        mia = await accounts.add_user("mia", "agent", ["marketing"], None, conn=conn, now=services.clock.now())
    work = WorkService(services.engine, services.settings, services.clock, owner=services.owner)

    async def note(mid: int) -> None:
        await work.add_note(mia, mid, "answering about the offer")

    got = await poll_both(services, search, note)
    assert got["mention"]["text"].startswith("EDIT: my Lumetta order arrived broken")
    assert got["team"] == "marketing" == got["first_team"]
    assert got["events"] == ["routed", "note", "edited"]
    assert len(got["revisions"]) == 1


async def test_the_same_edit_again_changes_nothing(services: Any, search: Search) -> None:
    """The edit re-delivered once more is a duplicate: one revision, no new event."""
    got = await poll_both(services, search)
    async with Poller(services) as poller:
        await poller.poll(x_cfg(search))
    async with services.engine.connect() as conn:
        assert len(await revisions.revisions_for(got["mid"], conn=conn)) == 1
        kinds = list((await conn.execute(select(T_EVENT.c.kind).where(T_EVENT.c.item_id == got["mid"]))).scalars())
    assert kinds == ["routed", "routed"]


async def test_item_page_shows_the_earlier_version(services: Any, search: Search) -> None:
    """The item page shows the latest text and, folded, the version it replaced."""
    got = await poll_both(services, search)
    await seed_users(services, [SeedUser("root", "admin", ())])
    app = create_app(services.settings, role="web", services=services)
    async with TestClient(TestServer(app)) as client:
        base = str(client.make_url("")).rstrip("/")
        await web_login(client.session, base, "root")
        async with client.session.get(f"{base}/items/{got['mid']}") as response:
            page = await response.text()
    assert response.status == 200
    assert "I want a refund" in page and "1 earlier versions" in page and "great deal" in page


async def _get_as_admin(services: Any, paths: list[str]) -> list[tuple[int, str]]:
    await seed_users(services, [SeedUser("root", "admin", ())])
    app = create_app(services.settings, role="web", services=services)
    out = []
    async with TestClient(TestServer(app)) as client:
        base = str(client.make_url("")).rstrip("/")
        await web_login(client.session, base, "root")
        for path in paths:
            async with client.session.get(f"{base}{path}") as response:
                out.append((response.status, await response.text()))
    return out


async def test_item_api_lists_the_earlier_versions(services: Any, search: Search) -> None:
    """GET /api/v1/items/{id} has the edited text, its edited_at and the version it replaced."""
    got = await poll_both(services, search)
    [(status, body)] = await _get_as_admin(services, [f"/api/v1/items/{got['mid']}"])
    assert status == 200, body
    detail = json.loads(body)
    assert detail["item"]["text"].startswith("EDIT: my Lumetta order arrived broken")
    assert detail["mention"]["edited_at"] is not None and detail["mention"]["provenance"] is None
    [earlier] = detail["revisions"]
    assert earlier["text"] == "I love the new Lumetta price offer, great deal"
    assert datetime.fromisoformat(earlier["edited_at"]) == got["revisions"][0]["edited_at"]
    assert earlier["recorded_at"] is not None


async def test_item_api_and_page_say_where_fields_came_from(services: Any) -> None:
    """A Bluesky post whose createdAt is not a date (indexedAt stands in) and a feed item in an
    undeclared KOI8-R feed: the item API has each mention's provenance, the page shows it."""
    payload = json.loads((API / "bluesky_bad_created_at.json").read_text())
    post = next(p for p in payload["posts"] if p["uri"].endswith("3lbadclock01"))
    sky = post_to_mention(post, source="bsky", fetched_at=services.clock.now())
    feed = read_feed((FEEDS / "undeclared_koi8-r.rss.xml").read_bytes(), source="feed",
                     content_type="application/rss+xml", fetched_at=services.clock.now())
    res = await services.pipeline.ingest([sky, feed.mentions[0]])
    assert res.ingested == 2
    async with services.engine.connect() as conn:
        ids = {r.source: r.id for r in await conn.execute(select(T_MENTION.c.source, T_MENTION.c.id))}
    (s1, b1), (s2, b2), (s3, page) = await _get_as_admin(
        services, [f"/api/v1/items/{ids['bsky']}", f"/api/v1/items/{ids['feed']}", f"/items/{ids['feed']}"])
    assert s1 == s2 == s3 == 200
    sky_prov = json.loads(b1)["mention"]["provenance"]
    assert sky_prov["created_at"].startswith("indexedAt (record.createdAt")
    assert "is not a date" in sky_prov["created_at"]
    feed_detail = json.loads(b2)
    assert feed_detail["mention"]["provenance"]["encoding"].startswith("charset detected as")
    assert feed_detail["revisions"] == []
    assert "Text decoded" in page and html.escape(feed_detail["mention"]["provenance"]["encoding"]) in page


async def test_a_bluesky_post_of_images_alone_is_stored_with_their_alt_text(services: Any) -> None:
    """A post whose only words are its images' alt text is ingested with them; its page says so."""
    post = {"uri": "at://did:plc:pics/app.bsky.feed.post/alt1", "cid": "calt1",
            "author": {"did": "did:plc:pics", "handle": "pics.bsky.social"},
            "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-03-02T10:00:00Z", "text": "",
                       "embed": {"$type": "app.bsky.embed.images",
                                 "images": [{"alt": "My Lumetta kettle <b>melted</b> on the stove"}]}},
            "indexedAt": "2026-03-02T10:00:01Z"}
    res = await services.pipeline.ingest([post_to_mention(post, source="bsky", fetched_at=services.clock.now())])
    assert res.ingested == 1
    async with services.engine.connect() as conn:
        mid = (await conn.execute(select(T_MENTION.c.id).where(T_MENTION.c.source == "bsky"))).scalar_one()
    [(s1, body), (s2, page)] = await _get_as_admin(services, [f"/api/v1/items/{mid}", f"/items/{mid}"])
    assert s1 == s2 == 200
    assert json.loads(body)["item"]["text"] == "My Lumetta kettle <b>melted</b> on the stove"
    assert 'data-text-from="images"' in page and "the post has no text of its own" in page
    assert "&lt;b&gt;melted&lt;/b&gt;" in page and "<b>melted</b>" not in page
