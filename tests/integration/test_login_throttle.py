"""Login throttling through the real login form, on SQLite and PostgreSQL, with a fake clock: it
holds under 40 concurrent wrong passwords (counted before the password is checked), slows
password spraying from one address, cannot be used to lock a user out from another address,
slows rather than locks (one more try after each growing delay; a distributed attack's delays
stay short), and writes its events to the audit trail."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from inbox.domain.clock import FakeClock
from inbox.storage.tables import Event
from inbox.web.testing import PASSWORD, LiveServer, SeedUser, csrf_from, seed_users

WRONG = "not-the-password-at-all"
USERS = [SeedUser("carla", "agent", ("customer_care",)), SeedUser("dario", "agent", ("customer_care",)),
         SeedUser("elena", "agent", ("customer_care",))]


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A fresh server per test (throttle state is per test); loopback is a trusted proxy, so each
    request names its client address in X-Forwarded-For."""
    from tests.conftest import live_server
    server = {"trusted_proxies": ["127.0.0.1", "::1"], "login_attempts": 5, "login_attempts_per_address": 20,
              "login_attempts_per_user": 30, "login_window": "15m", "login_user_max_delay": "1m"}
    with live_server(request.param, tmp_path_factory.mktemp("throttle"), lambda svc: seed_users(svc, USERS),
                     clock=FakeClock(), server=server) as srv:
        yield srv


class Browser:
    """One client (cookie jar) at one address, with the login form's CSRF token."""

    def __init__(self, server: LiveServer, address: str) -> None:
        self.server, self.address = server, address
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.token = ""

    async def open(self) -> Browser:
        async with self.session.get(self.server.url + "/login", headers={"X-Forwarded-For": self.address}) as r:
            self.token = csrf_from(await r.text())
        return self

    async def login(self, name: str, password: str) -> tuple[int, str | None]:
        async with self.session.post(self.server.url + "/login", allow_redirects=False,
                                     data={"name": name, "password": password, "_csrf": self.token},
                                     headers={"Origin": self.server.url, "X-Forwarded-For": self.address}) as r:
            return r.status, r.headers.get("Retry-After")

    async def close(self) -> None:
        await self.session.close()


async def _tries(server: LiveServer, address: str, name: str, password: str, n: int) -> list[int]:
    b = await Browser(server, address).open()
    try:
        return [(await b.login(name, password))[0] for _ in range(n)]
    finally:
        await b.close()


async def test_concurrent_wrong_passwords_are_throttled(server: LiveServer) -> None:
    """40 concurrent wrong passwords for one user: at most login_attempts are checked (401), the rest are 429."""
    browsers = [await Browser(server, "198.51.100.10").open() for _ in range(40)]
    try:
        answers = await asyncio.gather(*[b.login("carla", WRONG) for b in browsers])
    finally:
        await asyncio.gather(*[b.close() for b in browsers])
    statuses = [s for s, _ in answers]
    assert statuses.count(401) <= 5 and statuses.count(429) >= 35, statuses
    assert all(int(ra) >= 1 for s, ra in answers if s == 429 and ra is not None)
    assert all(ra is not None for s, ra in answers if s == 429)


async def test_spraying_one_password_over_many_names_is_slowed(server: LiveServer) -> None:
    """One address trying one password on many names is refused after login_attempts_per_address."""
    b = await Browser(server, "198.51.100.20").open()
    try:
        statuses = [(await b.login(f"user{i}", WRONG))[0] for i in range(25)]
    finally:
        await b.close()
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}, statuses


async def test_an_ipv6_client_counts_as_its_64(server: LiveServer) -> None:
    """Taking a new IPv6 address from the same /64 for each try does not start a new count: guessing one
    user's password and spraying over many names are slowed as from one address; another /64 is not."""
    guesses = [(await _tries(server, f"2001:db8:66:1::{i + 1:x}", "carla", WRONG, 1))[0] for i in range(8)]
    assert guesses[:5] == [401] * 5 and set(guesses[5:]) == {429}, guesses
    spray = [(await _tries(server, f"2001:db8:66:2:{i + 1:x}::1", f"user{i}", WRONG, 1))[0] for i in range(25)]
    assert spray[:20] == [401] * 20 and set(spray[20:]) == {429}, spray
    assert await _tries(server, "2001:db8:77:1::1", "dario", WRONG, 1) == [401]
    assert await _tries(server, "2001:db8:77:1::2", "carla", PASSWORD, 1) == [303]


async def test_an_attacker_elsewhere_cannot_lock_the_user_out(server: LiveServer) -> None:
    """Failures for carla from one address throttle that address; carla signs in from hers."""
    attacker = await _tries(server, "203.0.113.66", "carla", WRONG, 12)
    assert attacker[:5] == [401] * 5 and set(attacker[5:]) == {429}
    assert await _tries(server, "192.0.2.10", "carla", PASSWORD, 1) == [303]


async def test_throttling_slows_down_rather_than_locks(server: LiveServer) -> None:
    """Past the limit one more try is allowed after each delay (30 s, then 1 min ...), and the right
    password then gets in."""
    clock: FakeClock = server.clock  # type: ignore[assignment]
    b = await Browser(server, "198.51.100.30").open()
    try:
        assert [(await b.login("dario", WRONG))[0] for _ in range(5)] == [401] * 5
        status, retry = await b.login("dario", PASSWORD)
        assert (status, retry) == (429, "30")
        clock.advance(31)
        assert (await b.login("dario", WRONG))[0] == 401       # one more try after the delay
        status, retry = await b.login("dario", WRONG)
        assert status == 429 and retry is not None and 55 <= int(retry) <= 60  # the delay doubled
        clock.advance(61)
        assert (await b.login("dario", PASSWORD))[0] == 303
    finally:
        await b.close()


async def test_a_distributed_attack_slows_the_account_without_locking_it(server: LiveServer) -> None:
    """Failures for elena from 30 addresses hit login_attempts_per_user; elena then waits at most
    login_user_max_delay (not the whole window) and gets in."""
    clock: FakeClock = server.clock  # type: ignore[assignment]
    for i in range(30):
        assert await _tries(server, f"203.0.113.{100 + i}", "elena", WRONG, 1) == [401]
    b = await Browser(server, "192.0.2.44").open()
    try:
        status, retry = await b.login("elena", PASSWORD)
        assert status == 429 and retry is not None and int(retry) <= 60
        clock.advance(61)
        assert (await b.login("elena", PASSWORD))[0] == 303
    finally:
        await b.close()


async def test_the_owner_gets_in_from_a_known_address_during_a_distributed_attack(server: LiveServer) -> None:
    """While failures from 30 addresses keep carla's every-address bucket refusing (a new address waits), she
    signs in from an address she signed in from before; a guesser there meets that address's own limit."""
    assert await _tries(server, "192.0.2.50", "carla", PASSWORD, 1) == [303]
    for i in range(30):
        assert await _tries(server, f"203.0.113.{100 + i}", "carla", WRONG, 1) == [401]
    assert await _tries(server, "198.51.100.77", "carla", PASSWORD, 1) == [429]
    assert await _tries(server, "192.0.2.50", "carla", PASSWORD, 1) == [303]
    assert await _tries(server, "192.0.2.50", "carla", WRONG, 6) == [401] * 5 + [429]


async def test_failures_and_throttling_are_in_the_audit_trail(server: LiveServer) -> None:
    """Each checked failure is a login_failed event, the start of throttling a login_throttled event
    (scope, address, failures, delay), a success a login event; no event holds the password."""
    await _tries(server, "198.51.100.40", "carla", WRONG, 7)
    await _tries(server, "198.51.100.41", "carla", PASSWORD, 1)

    async def events() -> list[Any]:
        async with server.svc.engine.connect() as conn:
            t = Event.__table__  # type: ignore[attr-defined]
            return [r._mapping for r in await conn.execute(select(t).where(t.c.kind.like("login%")).order_by(t.c.id))]
    rows = server.call(events)
    kinds = [r["kind"] for r in rows]
    assert kinds.count("login_failed") == 5 and kinds.count("login") == 1
    [throttled] = [r for r in rows if r["kind"] == "login_throttled"]
    assert throttled["actor"] == "carla" and throttled["data"] == {
        "scope": "user+addr", "address": "198.51.100.40", "failures": 5, "retry_after_seconds": 30}
    assert all(WRONG not in str(r["data"]) and PASSWORD not in str(r["data"]) for r in rows)
