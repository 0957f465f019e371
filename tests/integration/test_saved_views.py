"""Saved views over HTTP on SQLite and PostgreSQL: a user saves the filters of the views page or a
search under a name (API and form), sees only their own, opens and deletes them; a name taken
answers 409; bad filters 422; a team the user may not see is refused when saving, and an HR view
never shows HR items to someone outside HR."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from connectors.base import Mention
from inbox.web.testing import LiveServer, SeedUser, api_token, csrf_from, seed_users, web_login

USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("dario", "agent", ("customer_care",)),
         SeedUser("henry", "agent", ("hr",)))


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    from tests.conftest import KeywordClassifier, make_settings

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, USERS)
        await svc.pipeline.ingest([
            Mention(source="s", platform="reddit", external_id="c", language="en", text="my order is broken, refund"),
            Mention(source="s", platform="reddit", external_id="h", language="it", text="colloquio di lavoro, grazie")])
        return {"tokens": {n: await api_token(svc, u.id) for n, u in users.items()}}

    srv = LiveServer(make_settings(db_url, tmp_path), classifier=KeywordClassifier(), seed=seed).start()
    yield srv
    srv.stop()


def _auth(server: LiveServer, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.seeded['tokens'][name]}"}


async def test_saved_views_api(server: LiveServer) -> None:
    base, carla = server.url + "/api/v1/saved-views", _auth(server, "carla")
    async with aiohttp.ClientSession() as s:
        async with s.post(base, json={"name": " Open  refunds ", "page": "search",
                                      "query": {"q": "refund", "status": "open", "cursor": "x"}}, headers=carla) as r:
            assert r.status == 422 and "cursor" in (await r.json())["detail"]  # only the page's own keys
        async with s.post(base, json={"name": " Open  refunds ", "page": "search",
                                      "query": {"q": "refund", "status": "open"}}, headers=carla) as r:
            assert r.status == 201, await r.text()
            made = await r.json()
        assert made["name"] == "Open refunds" and made["url"] == "/search?q=refund&status=open"
        async with s.post(base, json={"name": "Open refunds", "page": "views", "query": {"view": "open"}},
                          headers=carla) as r:
            assert r.status == 409 and "Open refunds" in (await r.json())["detail"]
        async with s.post(base, json={"name": "Bad", "page": "views", "query": {"view": "nope"}}, headers=carla) as r:
            assert r.status == 422
        async with s.post(base, json={"name": "Bad", "page": "search", "query": {"priority": "9"}},
                          headers=carla) as r:
            assert r.status == 422
        async with s.post(base, json={"name": "HR", "page": "views", "query": {"view": "open", "team": "hr"}},
                          headers=carla) as r:
            assert r.status in (403, 404)  # HR is private: not even confirmed
        async with s.post(base, json={"name": "Mine by age", "page": "views", "query": {"view": "mine", "sort": "age"}},
                          headers=carla) as r:
            assert r.status == 201
        async with s.get(base, headers=carla) as r:
            listed = (await r.json())["views"]
        assert [v["name"] for v in listed] == ["Mine by age", "Open refunds"]
        assert listed[0]["query"] == {"view": "mine", "sort": "age"}
        async with s.get(base, headers=_auth(server, "dario")) as r:
            assert (await r.json())["views"] == []  # each user sees their own
        async with s.delete(f"{base}/{made['id']}", headers=_auth(server, "dario")) as r:
            assert r.status == 404  # not theirs
        async with s.delete(f"{base}/{made['id']}", headers=carla) as r:
            assert r.status == 204
        async with s.get(base, headers=carla) as r:
            assert [v["name"] for v in (await r.json())["views"]] == ["Mine by age"]
        async with s.post(base, json={"name": "Lavoro", "page": "search", "query": {"q": "colloquio", "label": "hr"}},
                          headers=carla) as r:
            assert r.status == 201  # a label is no team: the view opens under carla's visibility
            hr_view = await r.json()
        async with s.get(server.url + "/api/v1/search", params=hr_view["query"], headers=carla) as r:
            assert (await r.json())["items"] == []
        async with s.get(server.url + "/api/v1/search", params=hr_view["query"], headers=_auth(server, "henry")) as r:
            assert len((await r.json())["items"]) == 1


async def test_saved_views_from_the_pages(server: LiveServer) -> None:
    base = server.url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        token = await web_login(s, base, "carla")
        async with s.get(base + "/views?view=unassigned&sort=age") as r:
            page = await r.text()
        assert 'name="query" value="view=unassigned&amp;sort=age"' in page
        form = {"_csrf": token, "page": "views", "query": "view=unassigned&sort=age", "name": "New, oldest first"}
        async with s.post(base + "/saved-views", data=form, headers={"Origin": base}) as r:
            assert r.status == 200 and str(r.url).endswith("/views?view=unassigned&sort=age")
            page = await r.text()
        assert "New, oldest first" in page and 'href="/views?view=unassigned&amp;sort=age"' in page
        async with s.post(base + "/saved-views", data=form, headers={"Origin": base}) as r:
            page = await r.text()  # the same name again: the message, the name kept in the field
        assert "already have a saved view named" in page and 'value="New, oldest first"' in page
        async with s.get(base + "/search?q=colloquio&team=hr") as r:
            assert "colloquio" not in (await r.text()).split("<h1>", 1)[1]
        async with s.get(base + "/api/v1/saved-views", headers={"X-CSRF-Token": csrf_from(page)}) as r:
            saved = (await r.json())["views"]
        async with s.post(f"{base}/saved-views/{saved[0]['id']}/delete",
                          data={"_csrf": token, "page": "search", "query": "q=order"}, headers={"Origin": base}) as r:
            assert str(r.url).endswith("/search?q=order")
            assert "New, oldest first" not in await r.text()
