"""A copy resolved together with its original says so in its history, with a link to the original."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from connectors.base import Mention
from inbox.web.testing import LiveServer, SeedUser, api_token, seed_users, web_login

USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("ugo", "agent", ("customer_care",), "it"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, USERS)
        res = await svc.pipeline.ingest([
            Mention(source="s", platform="rss", external_id=f"c-{i}", language="en", author_handle=f"u{i}",
                    text="my order arrived broken, refund please and help") for i in range(3)])
        return {"ids": sorted(res.item_ids), "token": await api_token(svc, users["carla"].id)}

    with live_server("sqlite", tmp_path_factory.mktemp("copyhist"), seed) as srv:
        yield srv


async def test_copies_history_names_the_original(server: LiveServer) -> None:
    original, *copies = server.seeded["ids"]
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{server.url}/api/v1/items/{original}/resolve", json={},
                          headers={"Authorization": f"Bearer {server.seeded['token']}"}) as r:
            assert r.status == 200, await r.text()
    for user, word in (("carla", "together with"), ("ugo", "insieme a")):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            await web_login(s, server.url, user)
            async with s.get(f"{server.url}/items/{copies[0]}") as r:
                html = await r.text()
        history = re.sub(r"\s+", " ", html[html.index('id="history-title"'):])
        assert f'{word} <a href="/items/{original}">#{original}</a>' in history
