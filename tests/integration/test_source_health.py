"""Health that tells the truth: a source whose polls succeed but read nothing usable (only parse
errors, only rejects, only warnings) is unhealthy with the reason, in /api/v1/health, on the admin
page and in a notification; a source whose feed the lenient parser recovered is healthy and warns.
Real HTTP (a local server serving the feeds), real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from connectors.config import ConnectorSettings
from connectors.testing import serve_app
from inbox.ingest.poll import Poller
from inbox.storage.repo import notification_outbox
from inbox.storage.repo._common import T_DEAD, T_MENTION
from inbox.web.app import create_app
from inbox.web.testing import SeedUser, api_token, seed_users, web_login
from inbox.work import notifier

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "connectors" / "feeds"
API = Path(__file__).resolve().parents[1] / "fixtures" / "connectors" / "api"


class Site:
    """What the local server answers, path by path (changeable between polls)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        body, content_type = self.routes.get(request.path, (b"", "text/plain"))
        return web.Response(body=body, headers={"Content-Type": content_type}, status=200 if body else 404)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    served = Site()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", served.handle)
    async with serve_app(app) as base:
        served.base = base
        yield served


def feed_cfg(site: Site, name: str = "news") -> ConnectorSettings:
    return ConnectorSettings.model_validate({"name": name, "type": "rss", "feeds": [f"{site.base}/feed.xml"],
                                             "allow_private_hosts": True})


async def health_of(services: Any, name: str) -> dict[str, Any]:
    """The connector's health as an admin sees it (without an admin's credentials health is minimal)."""
    users = await seed_users(services, [SeedUser("root", "admin", ())])
    token = await api_token(services, users["root"].id)
    app = create_app(services.settings, role="web", services=services)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/api/v1/health", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 200
        payload = await response.json()
    return next(c for c in payload["connectors"] if c["name"] == name)


async def admin_page(services: Any) -> str:
    await seed_users(services, [SeedUser("root", "admin", ())])
    app = create_app(services.settings, role="web", services=services)
    async with TestClient(TestServer(app)) as client:
        base = str(client.make_url("")).rstrip("/")
        await web_login(client.session, base, "root")
        async with client.session.get(f"{base}/admin/connectors") as response:
            assert response.status == 200
            return await response.text()


async def count(services: Any, table: Any, source: str) -> int:
    async with services.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(table.c.source == source)))
                   .scalar_one())


async def test_feed_that_only_fails_is_unhealthy_after_its_first_poll(services: Any, site: Site) -> None:
    """An unreadable feed: dead-lettered once, unhealthy with the reason and a last error from
    the first poll on, still unhealthy (not dead-lettered again) on the next, healthy once it reads."""
    site.routes["/feed.xml"] = (b"<html><body>Lumetta news moved, 200 OK</body></html>", "text/html")
    async with Poller(services) as poller:
        out = await poller.poll(feed_cfg(site))
        assert out["ok"] and "unhealthy" in out
        first = await health_of(services, "news")
        assert first["healthy"] is False and "dead-lettered 1" in first["reason"]
        assert "not an RSS or Atom feed" in first["reason"] and first["last_error"] == first["reason"]
        await poller.poll(feed_cfg(site))
        assert (await health_of(services, "news"))["healthy"] is False
        assert await count(services, T_DEAD, "news") == 1
        page = await admin_page(services)
        assert "unhealthy" in page and "not an RSS or Atom feed" in page
        site.routes["/feed.xml"] = ((FEEDS / "undefined_entities.rss.xml").read_bytes(), "application/rss+xml")
        await poller.poll(feed_cfg(site))
    recovered = await health_of(services, "news")
    assert recovered["healthy"] is True and recovered["reason"] is None
    assert await count(services, T_MENTION, "news") == 2


async def test_recovered_feed_is_healthy_and_warns(services: Any, site: Site) -> None:
    """A feed with a newline before its XML declaration: every entry stored, healthy, the
    lenient-parse warning shown in the health report."""
    site.routes["/feed.xml"] = ((FEEDS / "podcast_leading_newline.rss.xml").read_bytes(), "application/rss+xml")
    async with Poller(services) as poller:
        await poller.poll(feed_cfg(site))
    health = await health_of(services, "news")
    assert health["healthy"] is True and await count(services, T_MENTION, "news") == 3
    assert [w["kind"] for w in health["warnings"]] == ["lenient_parse"]
    assert health["last_poll"]["read"] == 3 and health["last_poll"]["rejected"] == 0
    page = await admin_page(services)
    assert "lenient_parse" in page and "not well-formed" in page and "3 read, 0 dead-lettered" in page


async def test_api_page_of_rejects_only_is_unhealthy_and_notified(services: Any, site: Site) -> None:
    """A Bluesky page whose every post is unreadable: unhealthy, and one notification per spell."""
    payload = json.loads((API / "bluesky_bad_created_at.json").read_text())
    payload["posts"] = [{**p, "record": "app.bsky.feed.post"} for p in payload["posts"]]  # a record that is no object
    site.routes["/bsky/xrpc/app.bsky.feed.searchPosts"] = (json.dumps(payload).encode(), "application/json")
    services.settings = services.settings.model_copy(update={"notifications": services.settings.notifications
                                                             .model_copy(update={"webhook_urls": ["https://hooks.example/x"]})})
    cfg = ConnectorSettings.model_validate({"name": "sky", "type": "bluesky", "base_url": f"{site.base}/bsky",
                                            "query": ["lumetta"], "allow_private_hosts": True})
    async with Poller(services) as poller:
        await poller.poll(cfg)
    health = await health_of(services, "sky")
    assert health["healthy"] is False and "dead-lettered 4" in health["reason"] and "record" in health["reason"]
    assert await notifier.enqueue_unhealthy_sources(services) == 1
    assert await notifier.enqueue_unhealthy_sources(services) == 0
    async with services.engine.connect() as conn:
        sent = await notification_outbox.list_notifications(conn=conn, kind="source_unhealthy")
    assert len(sent) == 1 and "Source sky (bluesky) is unhealthy" in sent[0]["payload"]["text"]


async def test_a_configured_source_not_polled_yet_is_listed(services: Any, site: Site) -> None:
    """Health lists every configured source: one without a poll yet is there, not healthy, saying
    why; after its first poll it reads like any other."""
    services.settings = services.settings.model_copy(update={"connectors": [feed_cfg(site, "later")]})
    waiting = await health_of(services, "later")
    assert waiting["polled"] is False and waiting["healthy"] is False and waiting["reason"] == "not polled yet"
    assert waiting["type"] == "rss" and waiting["last_success_at"] is None
    site.routes["/feed.xml"] = ((FEEDS / "undefined_entities.rss.xml").read_bytes(), "application/rss+xml")
    async with Poller(services) as poller:
        assert (await poller.poll(feed_cfg(site, "later")))["ok"]
    polled = await health_of(services, "later")
    assert polled["polled"] is True and polled["healthy"] is True and polled["reason"] is None
