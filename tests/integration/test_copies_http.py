"""Copies of one post over HTTP on SQLite and PostgreSQL (a live server, bearer tokens): the queue
counts count what the queue lists (the copies of an open original are not); the API's resolve, its
status endpoint and the bulk resolve resolve the open copies with the item, as the page does, each
copy audited with the original's id; opening an item page reads the opener's notifications about
that item (the header's count drops), and only theirs."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Mention
from inbox.web.testing import SeedUser, api_token, seed_users
from inbox.work.item_actions import WorkService

_POST = "RT @shop: the app lost my order {n} again, refund now! https://x.example/{i}"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("copies-http")

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, (SeedUser("carla", "agent", ("customer_care",)),
                                       SeedUser("dario", "agent", ("customer_care",)),
                                       SeedUser("lena", "lead", ("customer_care",))))
        groups: dict[str, list[int]] = {}
        for key, n, copies in (("a", 4711, 3), ("b", 4800, 3), ("c", 4900, 2), ("s", 5000, 2)):
            res = await svc.pipeline.ingest([Mention(source="t", platform="t", external_id=f"{key}{i}",
                                                     text=_POST.format(n=n, i=i)) for i in range(copies)])
            groups[key] = res.item_ids
        other = await svc.pipeline.ingest([Mention(source="t", platform="t", external_id="o",
                                                   text="the app lost my order 4712 again, refund now!")])
        groups["other"] = other.item_ids
        w = WorkService(svc.engine, svc.settings, svc.clock)
        await w.set_status(users["dario"], groups["s"][0], "claimed")  # an original someone holds
        for item in (groups["a"][0], groups["other"][0], groups["a"][0]):
            await w.add_note(users["lena"], item, "@carla can you check?")
        await w.add_note(users["lena"], groups["a"][0], "@dario this one too")
        return {"tokens": {n: await api_token(svc, u.id) for n, u in users.items()}, "groups": groups}

    with live_server(request.param, Path(tmp), seed) as srv:
        yield {"srv": srv, **srv.seeded}


def _call(live: dict[str, Any], who: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    req = urllib.request.Request(live["srv"].url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {live['tokens'][who]}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if resp.headers["Content-Type"].startswith("application/json") \
                else raw.decode()
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_counts_count_what_the_queue_lists(live: dict[str, Any]) -> None:
    g = live["groups"]
    status, page = _call(live, "carla", "GET", "/api/v1/queues/customer_care/items?limit=100")
    assert status == 200
    listed = page["items"]
    assert sorted(it["id"] for it in listed) == sorted([g["a"][0], g["b"][0], g["c"][0], g["s"][0], g["other"][0]])
    status, queues = _call(live, "carla", "GET", "/api/v1/queues")
    care = next(q for q in queues["queues"] if q["team"] == "customer_care")
    assert care["open"] == len(listed) == 5  # not 11: the six copies are one item with their originals
    assert care["new"] == sum(it["status"] == "new" for it in listed) == 4


def test_api_resolve_resolves_the_copies_and_audits_each(live: dict[str, Any]) -> None:
    g = live["groups"]
    status, out = _call(live, "carla", "POST", f"/api/v1/items/{g['a'][0]}/resolve", {})
    assert status == 200 and out["item"]["status"] == "resolved" and out["similar_resolved"] == g["a"][1:]
    for copy in g["a"][1:]:
        status, detail = _call(live, "carla", "GET", f"/api/v1/items/{copy}")
        assert detail["item"]["status"] == "resolved"
        last = detail["history"][-1]
        assert (last["kind"], last["actor"], last["data"]) == ("status", "carla",
                                                               {"from": "new", "to": "resolved", "with": g["a"][0]})
    # the status endpoint's "resolved" is the same action
    status, out = _call(live, "carla", "POST", f"/api/v1/items/{g['c'][0]}/status", {"status": "resolved"})
    assert status == 200 and out["similar_resolved"] == g["c"][1:]
    status, out = _call(live, "carla", "POST", f"/api/v1/items/{g['other'][0]}/status", {"status": "waiting"})
    assert status == 200 and out["similar_resolved"] == [] and out["item"]["status"] == "waiting"


def test_bulk_resolve_resolves_the_copies_with_a_result_per_listed_item(live: dict[str, Any]) -> None:
    g = live["groups"]
    b0, b1, b2 = g["b"]
    # a0 is resolved already (so the bulk refuses it), whichever of this module's tests ran before
    assert _call(live, "carla", "POST", f"/api/v1/items/{g['a'][0]}/resolve", {})[0] in (200, 409)
    status, out = _call(live, "carla", "POST", "/api/v1/items/bulk",
                        {"ids": [b0, b1, g["a"][0]], "action": "resolve"})
    assert status == 200
    got = [(r["id"], r["status"], r["similar_resolved"], r["resolved_with"]) for r in out["results"]]
    assert got == [(b0, 200, [b1, b2], None), (b1, 200, [], b0), (g["a"][0], 409, [], None)]
    assert out["results"][1]["item"]["status"] == "resolved"
    # an original held by someone else: refused, and its copies stay as they are
    status, out = _call(live, "carla", "POST", "/api/v1/items/bulk", {"ids": [g["s"][0]], "action": "resolve"})
    assert out["results"][0]["status"] == 409
    status, detail = _call(live, "carla", "GET", f"/api/v1/items/{g['s'][1]}")
    assert detail["item"]["status"] == "new"


def _unread(live: dict[str, Any], who: str) -> list[int]:
    status, page = _call(live, who, "GET", "/api/v1/notifications?unread=true")
    assert status == 200
    return [n["item_id"] for n in page["notifications"]]


def test_opening_an_item_reads_its_notifications(live: dict[str, Any]) -> None:
    g = live["groups"]
    a0, other = g["a"][0], g["other"][0]
    assert sorted(_unread(live, "carla")) == sorted([a0, a0, other])  # two notes about a0
    assert _unread(live, "dario") == [a0]
    status, html = _call(live, "carla", "GET", f"/items/{a0}")
    assert status == 200
    assert re.search(r'<span class="bell-count" id="notify-count">1</span>', html)  # the page counts after
    assert html.count("<title>(1) ") == 1
    assert _unread(live, "carla") == [other]
    assert _unread(live, "dario") == [a0]  # someone else's stay unread
    status, html = _call(live, "carla", "GET", f"/items/{g['b'][0]}")  # nothing about it: nothing changes
    assert status == 200 and _unread(live, "carla") == [other]


def test_the_readers_other_tabs_hear_the_lower_count(live: dict[str, Any]) -> None:
    """Another tab of the reader (its live stream) hears the new unread count with nothing new."""
    a0 = live["groups"]["a"][0]
    assert _unread(live, "dario") == [a0]
    req = urllib.request.Request(live["srv"].url + "/live",
                                 headers={"Authorization": f"Bearer {live['tokens']['dario']}"})
    with urllib.request.urlopen(req, timeout=30) as stream:
        while stream.readline().strip() != b": connected":
            pass
        assert _call(live, "dario", "GET", f"/items/{a0}")[0] == 200
        lines = [line for line in (stream.readline().decode().strip() for _ in range(3)) if line]
    assert lines == ["event: notifications", 'data: {"unread":0,"new":[]}']
    assert _unread(live, "dario") == []
