"""Live streams end when their authorisation changes, on SQLite and PostgreSQL: within 2 s of a
token revoked elsewhere (the CLI), a logout, a deactivation or a team change; a reconnect is
authorised afresh (401, or a stream filtered by the new teams)."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from connectors.base import Mention
from inbox.storage.repo import accounts
from inbox.web.testing import LiveServer, SeedUser, api_token, csrf_from, seed_users, web_login

USERS = [SeedUser("carla", "agent", ("customer_care",)), SeedUser("dario", "agent", ("customer_care",)),
         SeedUser("marco", "agent", ("marketing",)), SeedUser("root", "admin", ())]
LIMIT = 2.0


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server

    async def seed(svc: Any) -> dict[str, Any]:
        made = await seed_users(svc, USERS)
        return {"users": {n: u.id for n, u in made.items()},
                "tokens": {n: await api_token(svc, u.id) for n, u in made.items()}}

    with live_server(request.param, tmp_path_factory.mktemp("revoke"), seed) as srv:
        yield srv


async def _open(s: aiohttp.ClientSession, server: LiveServer, headers: dict[str, str] | None = None
                ) -> aiohttp.ClientResponse:
    r = await s.get(server.url + "/live", headers=headers or {})
    assert r.status == 200, r.status
    assert (await r.content.readline()).startswith(b"retry:")
    return r


async def _ended_within(r: aiohttp.ClientResponse, limit: float) -> float:
    """Seconds until the stream ends (EOF); fails if it is still open after ``limit``."""
    start = asyncio.get_running_loop().time()

    async def drain() -> None:
        while await r.content.readline():
            pass
    try:
        await asyncio.wait_for(drain(), limit)
    except TimeoutError:
        pytest.fail(f"the stream was still open {limit} s after the change")
    return asyncio.get_running_loop().time() - start


async def _change(server: LiveServer, fn: Any, *args: Any, **kw: Any) -> None:
    """A change written straight to the database, as the CLI or another instance does."""
    async def run() -> None:
        async with server.svc.engine.begin() as conn:
            await fn(*args, conn=conn, now=server.svc.clock.now(), **kw)
    server.call(run)


async def test_revoking_a_token_elsewhere_ends_its_stream(server: LiveServer) -> None:
    """A bearer stream ends within 2 s of `users revoke` (another process); reconnecting is 401."""
    token = server.seeded["tokens"]["carla"]
    async with aiohttp.ClientSession() as s:
        r = await _open(s, server, {"Authorization": f"Bearer {token}"})
        await _change(server, accounts.revoke_tokens, server.seeded["users"]["carla"])
        await _ended_within(r, LIMIT)
        async with s.get(server.url + "/live", headers={"Authorization": f"Bearer {token}"}) as again:
            assert again.status == 401


async def test_logout_ends_the_sessions_stream(server: LiveServer) -> None:
    """Signing out ends the stream the session had open within 2 s; the old cookie cannot reopen it."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await web_login(s, server.url, "dario")
        async with s.get(server.url + "/queues") as page:
            token = csrf_from(await page.text())
        cookies = s.cookie_jar.filter_cookies(URL(server.url))
        r = await _open(s, server)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
            other.cookie_jar.update_cookies(cookies)
            async with other.post(server.url + "/logout", data={"_csrf": token}, headers={"Origin": server.url},
                                  allow_redirects=False) as out:
                assert out.status == 303
        await _ended_within(r, LIMIT)
        async with s.get(server.url + "/live", allow_redirects=False) as again:
            assert again.status == 401


async def test_deactivation_ends_every_stream_of_the_user(server: LiveServer) -> None:
    """Deactivating a user (as the admin page does) ends both their session and bearer streams within 2 s."""
    uid = server.seeded["users"]["marco"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s, \
            aiohttp.ClientSession() as api:
        await web_login(s, server.url, "marco")
        r1 = await _open(s, server)
        r2 = await _open(api, server, {"Authorization": f"Bearer {server.seeded['tokens']['marco']}"})

        async def deactivate(*, conn: Any, now: Any) -> None:
            await accounts.set_user_fields(uid, {"active": False}, conn=conn, now=now)
            await accounts.revoke_tokens(uid, conn=conn, now=now)
        await _change(server, deactivate)
        await asyncio.gather(_ended_within(r1, LIMIT), _ended_within(r2, LIMIT))


async def _events(r: aiohttp.ClientResponse, seconds: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    end = asyncio.get_running_loop().time() + seconds
    while (left := end - asyncio.get_running_loop().time()) > 0:
        try:
            line = await asyncio.wait_for(r.content.readline(), left)
        except TimeoutError:
            break
        if line.startswith(b"data: "):
            out.extend(json.loads(line[6:])["items"])
    return out


async def test_a_team_change_ends_the_stream_and_the_reconnect_sees_the_new_teams(server: LiveServer) -> None:
    """Moving carla from customer care to marketing ends her stream within 2 s; the new stream carries
    marketing's changes and no longer customer care's."""
    token = server.seeded["tokens"]["carla"]
    async with aiohttp.ClientSession() as s:
        r = await _open(s, server, {"Authorization": f"Bearer {token}"})

        async def move(*, conn: Any, now: Any) -> None:
            await accounts.add_user("carla", "agent", ["marketing"], None, conn=conn, now=now)
        await _change(server, move)
        await _ended_within(r, LIMIT)
        r = await _open(s, server, {"Authorization": f"Bearer {token}"})
        batch = [Mention(source="rev", platform="t", external_id="care-1", text="order broken refund 1", language="en"),
                 Mention(source="rev", platform="t", external_id="mkt-1", text="love the price offer 1", language="en")]
        server.call(server.svc.pipeline.ingest, batch)
        seen = await _events(r, 3)
        r.close()
    teams = {i["team"] for i in seen}
    assert "marketing" in teams and "customer_care" not in teams, seen
