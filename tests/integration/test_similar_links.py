"""An item page links the first copies of its post and counts the rest, so a post copied hundreds
of times does not make a page of links; "resolve with the copies" still takes every one."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from connectors.base import Mention
from inbox.web.handover_pages import SIMILAR_LINKS
from inbox.web.testing import LiveServer, SeedUser, seed_users, web_login

COPIES = SIMILAR_LINKS + 5
USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("ugo", "agent", ("customer_care",), "it"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server

    async def seed(svc: Any) -> list[int]:
        await seed_users(svc, USERS)
        res = await svc.pipeline.ingest([
            Mention(source="s", platform="rss", external_id=f"copy-{i}", language="en", author_handle=f"u{i}",
                    text="my order arrived broken, refund please and help") for i in range(COPIES + 1)])
        return list(res.item_ids)

    with live_server("sqlite", tmp_path_factory.mktemp("similar"), seed) as srv:
        yield srv


async def _page(server: LiveServer, user: str, item_id: int) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await web_login(s, server.url, user)
        async with s.get(f"{server.url}/items/{item_id}") as r:
            assert r.status == 200
            return await r.text()


@pytest.mark.parametrize("user,more", [("carla", "and 5 more"), ("ugo", "e altre 5")])
async def test_the_first_copies_are_linked_and_the_rest_counted(server: LiveServer, user: str, more: str) -> None:
    ids = server.seeded
    assert len(ids) == COPIES + 1
    html = await _page(server, user, ids[0])
    section = html[html.index('id="similar-title"'):]
    section = section[:section.index("</section>")]
    linked = [int(x) for x in re.findall(r'href="/items/(\d+)"', section)]
    assert linked == sorted(ids[1:])[:SIMILAR_LINKS]
    assert more in section
    assert f"+{COPIES}" in section  # the heading still counts every copy
