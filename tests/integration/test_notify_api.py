"""The notifications API over HTTP on SQLite and PostgreSQL (a live server, bearer tokens): the
list with its unread count and text, read marks (404 problem+json for someone else's id), read-all,
settings (422 problem+json naming a bad kind); an HR item never shows for a customer-care agent."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inbox.web.testing import SeedUser, api_token, sample_mentions, seed_users
from inbox.work import handover
from inbox.work.item_actions import WorkService


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("notify-api")

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, (SeedUser("carla", "agent", ("customer_care",)),
                                       SeedUser("dario", "agent", ("customer_care",)),
                                       SeedUser("lena", "lead", ("customer_care",)),
                                       SeedUser("henry", "agent", ("hr",)),
                                       SeedUser("hana", "lead", ("hr",))))
        res = await svc.pipeline.ingest(sample_mentions(n_care=3, n_hr=1, n_marketing=0, n_pr=0))
        w = WorkService(svc.engine, svc.settings, svc.clock)
        got = {}
        for i in res.item_ids:
            got.setdefault((await w.get(_admin(users), i)).team, []).append(i)
        await handover.assign(w, users["lena"], got["customer_care"][0], "carla")
        await w.add_note(users["lena"], got["customer_care"][1], "@carla can you check?")
        await w.add_note(users["hana"], got["hr"][0], "@carla @henry interview on Monday")
        return {"tokens": {n: await api_token(svc, u.id) for n, u in users.items()}, "items": got}

    with live_server(request.param, Path(tmp), seed) as srv:
        yield {"srv": srv, **srv.seeded}


def _admin(users: dict[str, Any]) -> Any:
    return users["lena"].__class__(id=0, name="seed", role="admin", teams=())


def _call(live: dict[str, Any], who: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    req = urllib.request.Request(live["srv"].url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {live['tokens'][who]}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        assert e.headers["Content-Type"].startswith("application/problem+json")
        return e.code, json.loads(e.read())


def test_list_read_and_read_all(live: dict[str, Any]) -> None:
    status, page = _call(live, "carla", "GET", "/api/v1/notifications")
    assert status == 200 and page["unread"] == 2
    kinds = [(n["kind"], n["item_id"], n["team"], n["read"]) for n in page["notifications"]]
    care = live["items"]["customer_care"]
    assert kinds == [("mentioned", care[1], "customer_care", False), ("assigned", care[0], "customer_care", False)]
    assert page["notifications"][1]["text"] == f"lena assigned item #{care[0]} to you"
    assert all(n["item_id"] not in live["items"]["hr"] for n in page["notifications"])  # HR never shows
    status, err = _call(live, "dario", "POST", "/api/v1/notifications/read", {"ids": [page["notifications"][0]["id"]]})
    assert status == 404 and "no notification" in err["detail"]
    status, out = _call(live, "carla", "POST", "/api/v1/notifications/read", {"ids": [page["notifications"][0]["id"]]})
    assert (status, out) == (200, {"marked": 1, "unread": 1})
    status, page2 = _call(live, "carla", "GET", "/api/v1/notifications?unread=true&limit=1")
    assert [n["kind"] for n in page2["notifications"]] == ["assigned"] and page2["next_before"] is not None
    assert _call(live, "carla", "POST", "/api/v1/notifications/read-all", {}) == (200, {"marked": 1, "unread": 0})
    status, henry = _call(live, "henry", "GET", "/api/v1/notifications")
    assert status == 200 and [n["team"] for n in henry["notifications"]] == ["hr"]


def test_settings_round_trip_and_errors(live: dict[str, Any]) -> None:
    assert _call(live, "dario", "GET", "/api/v1/notifications/settings") == (
        200, {"kinds": ["assigned", "mentioned", "sla_due", "reply_failed", "approval"], "browser": False})
    want = {"kinds": ["mentioned", "assigned"], "browser": True}
    status, out = _call(live, "dario", "PUT", "/api/v1/notifications/settings", want)
    assert status == 200 and out == {"kinds": ["assigned", "mentioned"], "browser": True}
    assert _call(live, "dario", "GET", "/api/v1/notifications/settings")[1] == out
    status, err = _call(live, "dario", "PUT", "/api/v1/notifications/settings", {"kinds": ["everything"]})
    assert status == 422 and err["errors"][0]["loc"].startswith("body.kinds")
    status, err = _call(live, "dario", "GET", "/api/v1/notifications?limit=0")
    assert status == 422
    req = urllib.request.Request(live["srv"].url + "/api/v1/notifications")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 401


def test_the_page_lists_pages_of_notifications_and_never_hr(live: dict[str, Any]) -> None:
    import asyncio

    import aiohttp

    from inbox.web.testing import web_login

    async def run() -> tuple[str, str, str]:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            base = live["srv"].url
            await web_login(s, base, "carla")
            async with s.get(base + "/notifications") as r:
                first = await r.text()
            _, page = _call(live, "carla", "GET", "/api/v1/notifications")
            newest = page["notifications"][0]["id"]
            async with s.get(f"{base}/notifications?before={newest}") as r:
                older = await r.text()
            async with s.get(base + "/notifications?partial=1&before=bogus") as r:
                partial = await r.text()
        return first, older, partial

    first, older, partial = asyncio.run(run())
    care = live["items"]["customer_care"]
    assert f'href="/items/{care[1]}"' in first and f'href="/items/{care[0]}"' in first
    assert f'href="/items/{care[1]}"' not in older and f'href="/items/{care[0]}"' in older
    assert 'href="/notifications"' in older                        # back to the newest
    assert "<html" not in partial and f'href="/items/{care[1]}"' in partial
    for html in (first, older, partial):
        assert all(f'href="/items/{i}"' not in html for i in live["items"]["hr"])
        assert "interview on Monday" not in html
