"""A team an admin renames through the admin API is shown by its new name at once in the item rows
that name their team (an agent's own items on /queues), without a restart."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp

from connectors.base import Mention
from inbox.domain.types import UserInfo
from inbox.web.testing import api_token, seed_users, web_login
from tests.conftest import live_server


async def _seed(svc: Any) -> dict[str, Any]:
    from inbox.work.item_actions import WorkService
    users = await seed_users(svc)
    await svc.pipeline.ingest([Mention(source="s", platform="rss", external_id="n-1", language="en",
                                       author_handle="u1", text="my order arrived broken, refund please")])
    carla = UserInfo(id=users["carla"].id, name="carla", role="agent", teams=("customer_care",))
    assert await WorkService(svc.engine, svc.settings, svc.clock).claim_next(carla, "customer_care") is not None
    return {"root": await api_token(svc, users["root"].id)}


async def _badges(base: str) -> list[str]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await web_login(s, base, "carla")
        async with s.get(f"{base}/queues") as r:
            assert r.status == 200
            html = await r.text()
    mine = html[html.index("Assigned to you"):]
    return re.findall(r'<span class="badge team">([^<]*)</span>', mine[:mine.index("</ul>")])


async def _rename(base: str, token: str, display_name: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/v1/admin/teams", headers=auth) as r:
            team = next(t for t in (await r.json())["teams"] if t["name"] == "customer_care")
        async with s.put(f"{base}/api/v1/admin/teams/customer_care", headers=auth,
                         json={**team, "display_name": display_name}) as r:
            assert r.status == 200, await r.text()


async def test_a_renamed_team_is_shown_by_its_new_name_in_item_rows(tmp_path: Path) -> None:
    with live_server("sqlite", tmp_path, _seed) as srv:
        assert await _badges(srv.url) == ["Customer care"]  # rendered (and cached) under the old name
        await _rename(srv.url, srv.seeded["root"], "Supporto VIP")
        assert await _badges(srv.url) == ["Supporto VIP"]
