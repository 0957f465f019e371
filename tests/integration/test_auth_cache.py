"""The per-process memory of who a bearer token or web session belongs to: answers are reused for
a couple of seconds, changes made through this process (admin deactivation, logout) take effect
on the next request, changes made elsewhere (the CLI, another instance) as soon as their NOTIFY
arrives on PostgreSQL and once the entry expires on SQLite, and wrong tokens are never remembered."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from inbox.domain.types import UserInfo
from inbox.storage.repo import accounts
from inbox.web.authcache import AuthCache
from inbox.web.keys import AUTH_CACHE
from inbox.web.testing import LiveServer, SeedUser, api_token, seed_users, web_login

USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("dario", "agent", ("customer_care",)),
         SeedUser("root", "admin", ()))


class FakeTimer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, USERS)
        return {"users": users, "tokens": {n: await api_token(svc, u.id) for n, u in users.items()}}

    with live_server(request.param, tmp_path_factory.mktemp("authcache"), seed) as srv:
        yield srv


def _cache(server: LiveServer) -> AuthCache:
    assert server.app is not None
    return server.app[AUTH_CACHE]


async def _status(url: str, token: str) -> int:
    async with aiohttp.ClientSession() as s, s.get(url + "/api/v1/queues",
                                                   headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status


def _user(uid: int = 1) -> UserInfo:
    return UserInfo(id=uid, name=f"u{uid}", role="agent", teams=("customer_care",))


def test_entries_expire_after_ttl() -> None:
    """An entry is returned until its ttl has passed on the cache's timer, then forgotten."""
    timer = FakeTimer()
    cache = AuthCache(2.0, timer=timer)
    cache.put(("bearer", "h"), _user())
    timer.now += 1.9
    assert cache.get(("bearer", "h")) == _user()
    timer.now += 0.2
    assert cache.get(("bearer", "h")) is None
    assert len(cache) == 0


def test_ttl_zero_disables_and_size_is_bounded() -> None:
    """ttl 0 remembers nothing; a flood of distinct credentials never grows the cache past its bound."""
    off = AuthCache(0)
    off.put(("bearer", "h"), _user())
    assert off.get(("bearer", "h")) is None
    small = AuthCache(60, max_entries=3)
    for i in range(10):
        small.put(("bearer", str(i)), _user(i))
    assert len(small) <= 3
    assert small.get(("bearer", "9")) == _user(9)


async def test_deactivation_refuses_a_cached_token_at_once(server: LiveServer) -> None:
    """A token just used (so remembered) is refused on the very next request after the admin
    deactivates its user through this process."""
    token = server.seeded["tokens"]["dario"]
    assert await _status(server.url, token) == 200
    assert await _status(server.url, token) == 200  # served from the cache
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as admin:
        csrf = await web_login(admin, server.url, "root")
        async with admin.post(server.url + "/admin/users/dario/deactivate", data={"_csrf": csrf},
                              headers={"Origin": server.url}) as r:
            assert r.status == 200
    assert await _status(server.url, token) == 401


async def test_revocation_elsewhere_applies_within_ttl(server: LiveServer) -> None:
    """A token revoked outside this process (the CLI, another instance) keeps working only until its
    cache entry expires; then it is refused."""
    cache = _cache(server)
    timer = FakeTimer()
    cache.timer = timer
    cache.clear()
    token = server.seeded["tokens"]["carla"]
    uid = server.seeded["users"]["carla"].id
    assert await _status(server.url, token) == 200

    async def revoke() -> None:
        async with server.svc.engine.begin() as conn:
            await accounts.revoke_tokens(uid, conn=conn, now=server.svc.clock.now())
    server.call(revoke)
    if server.svc.engine.dialect.name == "postgresql":
        # the revoking transaction NOTIFYs every instance: refused without the entry expiring
        # (the cache's timer is frozen), as soon as the notification arrives
        import asyncio
        for _ in range(100):
            if await _status(server.url, token) == 401:
                break
            await asyncio.sleep(0.05)
        assert await _status(server.url, token) == 401
        assert timer.now == 1000.0
        return
    assert await _status(server.url, token) == 200  # still remembered: the documented bound
    timer.now += cache.ttl
    assert await _status(server.url, token) == 401


async def test_wrong_tokens_are_not_remembered(server: LiveServer) -> None:
    """A failed lookup always goes to the database and leaves nothing in the cache."""
    cache = _cache(server)
    cache.clear()
    assert await _status(server.url, "not-a-token") == 401
    assert len(cache) == 0
