"""X-Forwarded-For/-Proto/-Host are believed only from server.trusted_proxies: a client cannot pass
the CSRF origin check with its own X-Forwarded-Host, nor get a Secure cookie or another address by
saying so; behind a configured proxy the forwarded scheme, host and client address are used."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from inbox.web.forwarded import client_view, parse_networks
from inbox.web.testing import LiveServer, csrf_from, seed_users


def _server(tmp: Path, proxies: list[str]) -> Iterator[LiveServer]:
    from tests.conftest import live_server
    with live_server("sqlite", tmp, seed_users, server={"trusted_proxies": proxies}) as srv:
        yield srv


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Clients connect directly (loopback is not a configured proxy)."""
    yield from _server(tmp_path_factory.mktemp("direct"), ["10.99.0.0/16"])


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The test client plays the proxy: loopback is configured as trusted."""
    yield from _server(tmp_path_factory.mktemp("proxied"), ["127.0.0.1", "::1"])


async def _login(s: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> tuple[int, str]:
    async with s.get(base + "/login", headers=headers) as r:
        token = csrf_from(await r.text())
    async with s.post(base + "/login", data={"name": "carla", "password": "correct-horse-battery", "_csrf": token},
                      headers=headers, allow_redirects=False) as r:
        return r.status, r.headers.get("Set-Cookie", "")


async def test_a_clients_forwarded_host_does_not_pass_the_origin_check(direct: LiveServer) -> None:
    """From a client that is not a configured proxy, Origin and X-Forwarded-Host evil.example are refused."""
    forged = {"Origin": "http://evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        status, _ = await _login(s, direct.url, forged)
    assert status == 403


async def test_a_clients_forwarded_proto_does_not_make_the_cookie_secure(direct: LiveServer) -> None:
    """X-Forwarded-Proto: https from a direct client leaves the cookie without Secure."""
    async with aiohttp.ClientSession() as s:
        async with s.get(direct.url + "/login", headers={"X-Forwarded-Proto": "https"}) as r:
            assert "Secure" not in r.headers.getall("Set-Cookie")[0]


async def test_behind_a_configured_proxy_the_forwarded_origin_counts(proxied: LiveServer) -> None:
    """A configured proxy's X-Forwarded-Host/-Proto make the public origin the one the CSRF check expects,
    and an https one marks the cookie Secure; another origin is still refused."""
    public = {"X-Forwarded-Host": "inbox.example", "X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.7"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        status, _ = await _login(s, proxied.url, {**public, "Origin": "http://inbox.example"})
    assert status == 303
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        status, _ = await _login(s, proxied.url, {**public, "Origin": proxied.url})
    assert status == 403
    async with aiohttp.ClientSession() as s:  # (a client keeps a Secure cookie off plain http: only look at it)
        async with s.get(proxied.url + "/login", headers={**public, "X-Forwarded-Proto": "https"}) as r:
            assert "Secure" in r.headers.getall("Set-Cookie")[0]


PROXIES = parse_networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(("peer", "xff", "want"), [
    ("198.51.100.9", "1.2.3.4", None),                    # not a proxy: headers ignored
    ("10.0.0.2", "203.0.113.7", "203.0.113.7"),
    ("10.0.0.2", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client's own prefix is not believed
    ("10.0.0.2", "203.0.113.7, 10.0.0.9", "203.0.113.7"),  # two proxy hops
    ("10.0.0.2", "junk, 203.0.113.7", "203.0.113.7"),
    ("10.0.0.2", "203.0.113.7, junk", None),              # malformed right of the client: nothing believed
    ("::1", "2001:db8::5", "2001:db8::5"),
    ("::ffff:10.0.0.2", "203.0.113.7", "203.0.113.7"),    # IPv4-mapped peer
])
def test_client_address_is_the_rightmost_untrusted_entry(peer: str, xff: str, want: str | None) -> None:
    """The client address walks X-Forwarded-For from the right, past configured proxies only."""
    view: dict[str, Any] = client_view(peer, CIMultiDict({"X-Forwarded-For": xff}), PROXIES)
    assert view.get("remote") == want


def test_bad_proxy_entries_are_refused() -> None:
    """A trusted_proxies entry that is not an address or network is a settings error."""
    with pytest.raises(ValueError, match="not an IP"):
        parse_networks(["10.0.0.0/8", "proxy.local"])
