"""Thread context in headless Chromium: after the thread-context job fetched them from the fake
platforms (tests/context_platform.py), the item page shows the thread's first post, then the parent,
above the mention, the parent's markup as text (no script runs); a parent deleted on the platform is
said so (Italian)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from connectors.base import Mention
from inbox.ingest.thread_context import fetch_thread_context
from inbox.storage.repo._common import T_MENTION
from inbox.web.testing import SeedUser, seed_users
from tests.context_platform import ContextPlatforms, context_tables
from tests.e2e.test_browser import Session
from tests.replies_platform import free_port

pytestmark = pytest.mark.browser

REPLY = "at://did:plc:c/app.bsky.feed.post/3kreply"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.conftest import live_server
    port = free_port()
    fake = ContextPlatforms()

    async def seed(svc: Any) -> dict[str, int]:
        await seed_users(svc, (SeedUser("root", "admin", ()), SeedUser("rita", "admin", (), locale="it")))
        runner = web.AppRunner(fake.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await svc.pipeline.ingest([
            Mention(source="bluesky", platform="bluesky", external_id=REPLY, author_handle="cliente",
                    text="my order from acme arrived broken, the lid is cracked",
                    reply_to_id="at://did:plc:paola00000000000000000000/app.bsky.feed.post/3kctxpar0001",
                    thread_id="at://did:plc:acme000000000000000000000/app.bsky.feed.post/3kctxroot001"),
            Mention(source="mastodon", platform="mastodon", external_id="https://m.example/s/2", author_handle="c",
                    text="my order from acme arrived broken", reply_to_id="110000000000000404")])
        await fetch_thread_context(svc)
        async with svc.engine.connect() as conn:
            return {ext: i for i, ext in await conn.execute(select(T_MENTION.c.id, T_MENTION.c.external_id))}

    with live_server("sqlite", tmp_path_factory.mktemp("context-e2e"), seed,
                     connectors=context_tables(f"http://127.0.0.1:{port}")) as srv:
        yield {"server": srv, "ids": srv.seeded}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_browser import ARGS, CHROMIUM
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def test_parent_and_thread_start_above_the_mention(browser: Any, world: dict[str, Any]) -> None:
    from playwright.sync_api import expect
    s = Session(browser, world["server"], "root")
    page = s.go(f"/items/{world['ids'][REPLY]}")
    posts = page.locator(".thread-context .context-post")
    expect(posts).to_have_count(2)
    expect(posts.nth(0)).to_contain_text("Thread start")
    expect(posts.nth(0)).to_contain_text("Winter sale starts Monday")
    expect(posts.nth(1)).to_contain_text("paola.bsky.social")
    expect(posts.nth(1).locator(".mention-text")).to_have_text(
        "Does it include the <script>alert(1)</script> blender?")
    context_box = page.locator(".thread-context").bounding_box()
    mention_box = page.locator("p.mention-text", has_text="the lid is cracked").bounding_box()
    assert context_box and mention_box and context_box["y"] + context_box["height"] <= mention_box["y"]
    assert s.dialogs == [] and s.errors == []
    s.shot("thread-context")


def test_a_deleted_parent_is_said_so_in_italian(browser: Any, world: dict[str, Any]) -> None:
    from playwright.sync_api import expect
    s = Session(browser, world["server"], "rita", locale="it-IT")
    page = s.go(f"/items/{world['ids']['https://m.example/s/2']}")
    expect(page.locator(".thread-context")).to_contain_text(
        "Il post a cui risponde è stato cancellato sulla piattaforma.")
    expect(page.locator(".thread-context .context-post")).to_have_count(0)
