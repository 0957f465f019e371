"""The API's access matrix: every role x team combination against every endpoint and every team's
items, on SQLite and PostgreSQL, through the real server. A refused request never shows the
item's text, and HR's queue is invisible (404) to everybody outside HR but admins."""
from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from connectors.base import Mention
from inbox.domain.types import ROLES
from inbox.storage.repo import items as items_repo
from inbox.web.testing import LiveServer, SeedUser, api_token, seed_users

TEAMS = ("customer_care", "marketing", "hr", "pr", "triage")
PRIVATE = {"hr"}
COMBOS = list(itertools.product(ROLES, TEAMS))
# texts the keyword classifier routes to each team ("triage": no cue, low confidence)
TEXTS = {"customer_care": "order broken refund {}", "marketing": "love the price offer {}",
         "hr": "job interview hiring {}", "pr": "journalist asks ceo {}", "triage": "zzz qqq {}"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per back end with one user per role x team (plus a team-less manager) and a token each."""
    from tests.conftest import live_server
    users = [SeedUser(f"{role}-{team}", role, (team,)) for role, team in COMBOS]
    users.append(SeedUser("boss", "manager", ()))

    async def seed(svc: Any) -> dict[str, str]:
        made = await seed_users(svc, users)
        return {name: await api_token(svc, u.id) for name, u in made.items()}

    with live_server(request.param, tmp_path_factory.mktemp("api"), seed) as srv:
        yield srv


def _new_items(server: LiveServer, watched_by: str | None = None) -> dict[str, tuple[int, str, list[str]]]:
    """One fresh item per team: {team: (id, secret text, watchers)}; optionally all watched by one team."""
    tag = uuid.uuid4().hex[:10]
    batch = [Mention(source="matrix", platform="t", external_id=f"{team}-{tag}", language="en",
                     text=TEXTS[team].format(f"secret-{team}-{tag}")) for team in TEAMS]

    async def ingest() -> dict[str, tuple[int, str, list[str]]]:
        res = await server.svc.pipeline.ingest(batch)
        out: dict[str, tuple[int, str, list[str]]] = {}
        async with server.svc.engine.begin() as conn:
            for item_id in res.item_ids:
                it = await items_repo.get_item(item_id, conn=conn)
                assert it is not None
                watchers = list(it.watchers)
                if watched_by and it.team not in PRIVATE and it.team != watched_by:
                    watchers = [watched_by]
                    await items_repo.update_item(item_id, {"watchers": watchers}, conn=conn)
                out[it.team] = (item_id, it.text, watchers)
        return out
    got = server.call(ingest)
    assert set(got) == set(TEAMS), got
    return got


def _expect_team(role: str, mine: str, team: str) -> int:
    if role == "admin" or team == mine:
        return 200
    return 404 if team in PRIVATE else 403


async def _req(s: aiohttp.ClientSession, method: str, url: str, token: str, json: Any = None) -> tuple[int, str, str]:
    async with s.request(method, url, headers={"Authorization": f"Bearer {token}"}, json=json) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


@pytest.mark.parametrize(("role", "team"), COMBOS, ids=[f"{r}-{t}" for r, t in COMBOS])
async def test_access_matrix(server: LiveServer, role: str, team: str) -> None:
    """Queues, claims, item reads and every item action answer as the rules say for this role and team."""
    name = f"{role}-{team}"
    token = server.seeded[name]
    base = server.url + "/api/v1"
    watched_items = _new_items(server, watched_by=team)
    async with aiohttp.ClientSession() as s:
        st, _, body = await _req(s, "GET", base + "/queues", token)
        assert st == 200
        listed = {q["team"] for q in json.loads(body)["queues"]}
        assert listed == (set(TEAMS) if role == "admin" else {team})
        for target in TEAMS:
            item_id, secret, watchers = watched_items[target]
            want = _expect_team(role, team, target)
            st, ct, body = await _req(s, "GET", f"{base}/queues/{target}/items?status=new,claimed", token)
            assert st == want, (target, st)
            if st != 200:
                assert ct.startswith("application/problem+json") and secret not in body
            else:
                assert all(i["team"] == target for i in json.loads(body)["items"])
            member = role == "admin" or target == team
            watcher = not member and target not in PRIVATE and team in watchers
            st, ct, body = await _req(s, "GET", f"{base}/items/{item_id}", token)
            assert st == (200 if member or watcher else 404), (target, st)
            if st != 200:
                assert secret not in body and ct.startswith("application/problem+json")
            st, _, body = await _req(s, "POST", f"{base}/items/{item_id}/notes", token, {"text": "seen"})
            assert st == (201 if member or watcher else 404), (target, st)
            assert secret not in body or member or watcher
            act = 200 if member else (403 if watcher else 404)
            st, _, body = await _req(s, "POST", f"{base}/items/{item_id}/status", token, {"status": "waiting"})
            assert st == act, ("status", target, st)
            st, _, _ = await _req(s, "POST", f"{base}/items/{item_id}/release", token, {})
            assert st == (409 if member else act), ("release", target, st)  # not claimed: a conflict
            other = "triage" if target != "triage" else "marketing"
            st, _, body = await _req(s, "POST", f"{base}/items/{item_id}/transfer", token,
                                     {"team": other, "reason": "matrix"})
            assert st == act, ("transfer", target, st)
            if st != 200:
                assert secret not in body
        # resolve and claim on fresh items (the ones above moved)
        fresh = _new_items(server)
        for target in TEAMS:
            item_id, secret, watchers = fresh[target]
            want = _expect_team(role, team, target)
            watcher = want != 200 and target not in PRIVATE and team in watchers
            st, _, body = await _req(s, "POST", f"{base}/items/{item_id}/resolve", token, {})
            assert st == (200 if want == 200 else 403 if watcher else 404), ("resolve", target, st)
            assert st == 200 or secret not in body
            st, _, body = await _req(s, "POST", f"{base}/queues/{target}/claim", token)
            assert st == want, ("claim", target, st)
            if st != 200:
                assert "secret" not in body
        # metrics: managers and admins everything; leads their team; agents nothing
        st, _, _ = await _req(s, "GET", f"{base}/metrics", token)
        assert st == (200 if role in ("manager", "admin") else 403)
        st, _, body = await _req(s, "GET", f"{base}/metrics?team={team}", token)
        assert st == (403 if role == "agent" else 200)
        foreign = "hr" if team != "hr" else "pr"
        st, _, _ = await _req(s, "GET", f"{base}/metrics?team={foreign}", token)
        assert st == (200 if role in ("manager", "admin") else 403)


async def test_teamless_manager_sees_metrics_but_no_items(server: LiveServer) -> None:
    """A manager without teams reads every team's metrics and no queue or item."""
    token = server.seeded["boss"]
    base = server.url + "/api/v1"
    fresh = _new_items(server)
    async with aiohttp.ClientSession() as s:
        st, _, body = await _req(s, "GET", base + "/metrics", token)
        assert st == 200 and '"by_team"' in body
        st, _, body = await _req(s, "GET", base + "/queues", token)
        assert st == 200 and json.loads(body)["queues"] == []
        for team, (item_id, secret, _w) in fresh.items():
            st, _, body = await _req(s, "GET", f"{base}/items/{item_id}", token)
            assert st == 404 and secret not in body
            st, _, _ = await _req(s, "GET", f"{base}/queues/{team}/items", token)
            assert st == (404 if team in PRIVATE else 403)


async def test_anonymous_and_bad_tokens_get_401(server: LiveServer) -> None:
    """Without credentials, with a wrong token or a malformed header, every endpoint but health answers 401."""
    base = server.url + "/api/v1"
    item_id = _new_items(server)["customer_care"][0]
    calls = [("GET", "/queues"), ("GET", "/queues/customer_care/items"), ("POST", "/queues/customer_care/claim"),
             ("GET", f"/items/{item_id}"), ("POST", f"/items/{item_id}/notes"), ("POST", f"/items/{item_id}/resolve"),
             ("POST", f"/items/{item_id}/release"), ("POST", f"/items/{item_id}/transfer"), ("GET", "/metrics")]
    async with aiohttp.ClientSession() as s:
        for headers in ({}, {"Authorization": "Bearer si_nope"}, {"Authorization": "Basic abc"}):
            for method, path in calls:
                async with s.request(method, base + path, headers=headers) as r:
                    assert r.status == 401, (headers, path, r.status)
                    assert r.headers["Content-Type"].startswith("application/problem+json")
                    assert "secret" not in await r.text()
        async with s.get(base + "/health") as r:
            assert r.status == 200
