"""Pages show the deadline that still runs: an untouched item counts down to its first response; once
an agent took it (or answered it: what stops the first-response SLA) the item page says when it was
first touched and whether that was within the SLA, and the queue rows count down to the resolution."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from connectors.base import Mention
from inbox.domain.types import UserInfo
from inbox.web.testing import LiveServer, SeedUser, seed_users, web_login

USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("ugo", "agent", ("customer_care",), "it"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server

    async def seed(svc: Any) -> dict[str, int]:
        from inbox.work.item_actions import WorkService
        users = await seed_users(svc, USERS)
        res = await svc.pipeline.ingest([
            Mention(source="s", platform="rss", external_id=f"d-{i}", language="en", author_handle=f"u{i}",
                    text=f"my order {i} arrived broken, refund please") for i in range(2)])
        carla = UserInfo(id=users["carla"].id, name="carla", role="agent", teams=("customer_care",))
        taken = await WorkService(svc.engine, svc.settings, svc.clock).claim_next(carla, "customer_care")
        assert taken is not None
        (untouched,) = set(res.item_ids) - {taken.id}
        return {"taken": taken.id, "untouched": untouched}

    with live_server("sqlite", tmp_path_factory.mktemp("deadlines"), seed) as srv:
        yield srv


async def _get(server: LiveServer, user: str, path: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await web_login(s, server.url, user)
        async with s.get(f"{server.url}{path}") as r:
            assert r.status == 200
            return await r.text()


def _facts(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[html.index('class="facts"'):html.index("</dl>")]))


@pytest.mark.parametrize("user,first,within,due", [
    ("carla", "First response", "within the SLA", "First response due"),
    ("ugo", "Prima risposta", "entro lo SLA", "Scadenza prima risposta")])
async def test_item_page_stops_the_countdown_once_touched(server: LiveServer, user: str, first: str, within: str,
                                                          due: str) -> None:
    taken = _facts(await _get(server, user, f"/items/{server.seeded['taken']}"))
    assert f"{first} " in taken and within in taken and due not in taken
    untouched = _facts(await _get(server, user, f"/items/{server.seeded['untouched']}"))
    assert due in untouched and within not in untouched


async def test_queue_rows_count_down_to_what_still_runs(server: LiveServer) -> None:
    html = await _get(server, "carla", "/queues/customer_care")

    def row(item_id: int) -> str:
        start = html.index(f'data-item-id="{item_id}"')
        return html[start:html.index("</li>", start)]
    assert "Resolve by" in row(server.seeded["taken"]) and "First response due" not in row(server.seeded["taken"])
    assert "First response due" in row(server.seeded["untouched"])
