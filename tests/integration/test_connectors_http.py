"""HttpClient against real local servers: retries, Retry-After, budgets, size caps, SSRF."""
from __future__ import annotations

import gzip
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from connectors.config import ConnectorSettings
from connectors.errors import BlockedAddress, PayloadError, PermanentError, RateLimited, TransientError
from connectors.fake import FakeClock
from connectors.http import HttpClient, RetryPolicy
from connectors.netguard import BlockedAtConnect, guarded_tcp_connector
from connectors.registry import build_connector
from connectors.replay import REPLAY_LOG, SAMPLES_DIR, FaultPlan, create_replay_app
from connectors.testing import serve_app

START = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def client(session: aiohttp.ClientSession, clock: FakeClock, **kwargs: Any) -> HttpClient:
    return HttpClient(session, clock=clock.now, sleep=clock.sleep, random=Random(0), **kwargs)


def hn(base: str, **overrides: Any) -> ConnectorSettings:
    table: dict[str, Any] = {"name": "hn", "type": "hackernews", "base_url": f"{base}/hackernews",
                             "query": ["lumetta"], "allow_private_hosts": True}
    table.update(overrides)
    return ConnectorSettings.model_validate(table)


async def poll_hn(
    plan: FaultPlan, session: aiohttp.ClientSession, clock: FakeClock, **kw: Any
) -> tuple[Any, list[Any], HttpClient]:
    app = create_replay_app(SAMPLES_DIR, faults=plan, clock=clock.now)
    async with serve_app(app) as base:
        http = client(session, clock, policy=kw.pop("policy", RetryPolicy()))
        connector = build_connector(hn(base, **kw), http, env={})
        result = await connector.poll(None)
    return result, app[REPLAY_LOG], http


@pytest.mark.parametrize("form", ["429-seconds", "429-date"])
async def test_429_retry_after_is_honoured(form: str, session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """A 429 with Retry-After (seconds or HTTP-date) is retried no earlier than it says, on a fake clock."""
    plan = FaultPlan(script=[form, "ok"], retry_after=7, reset_headers=False)
    result, log, http = await poll_hn(plan, session, clock)
    assert len(result.mentions) == 4
    limited, retried = log
    assert limited.status == 429 and limited.retry_at is not None
    assert retried.at >= limited.retry_at and retried.status == 200 and not retried.early
    assert sum(clock.sleeps) >= 7 and http.stats("hn").retries == 1


async def test_5xx_burst_backs_off_then_succeeds(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """Three 5xx in a row are retried with exponential back-off (full jitter, capped by 1, 2, 4 s)."""
    result, log, http = await poll_hn(FaultPlan(script=["5xx", "5xx", "5xx", "ok"]), session, clock)
    assert [r.status for r in log] == [500, 502, 503, 200] and len(result.mentions) == 4
    assert len(clock.sleeps) == 3 and all(s <= cap for s, cap in zip(clock.sleeps, (1, 2, 4), strict=False))
    assert http.stats("hn").retries == 3 and http.stats("hn").last_status == 200


async def test_5xx_exhausts_attempts(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """After max_attempts failures the poll raises TransientError: nothing is returned or lost."""
    with pytest.raises(TransientError):
        await poll_hn(FaultPlan(script=["5xx"] * 3), session, clock, policy=RetryPolicy(max_attempts=3))


async def test_malformed_json_retried_then_payload_error(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """A cut JSON body counts as a failed attempt; if it persists the poll raises PayloadError."""
    result, log, _ = await poll_hn(FaultPlan(script=["malformed", "ok"]), session, clock)
    assert len(result.mentions) == 4 and len(log) == 2
    with pytest.raises(PayloadError):
        await poll_hn(FaultPlan(script=["malformed"] * 2), session, clock, policy=RetryPolicy(max_attempts=2))


async def test_truncated_body_retried(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """A connection closed mid-body is a transient error and is retried."""
    result, log, _ = await poll_hn(FaultPlan(script=["truncated", "ok"]), session, clock)
    assert len(result.mentions) == 4 and [r.fault for r in log] == ["truncated", "ok"]


async def test_timeout_retried(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """A response slower than the connector's timeout is abandoned and retried."""
    plan = FaultPlan(script=["slow", "ok"], slow_seconds=0.6)
    result, log, http = await poll_hn(plan, session, clock, timeout=0.15)
    assert len(result.mentions) == 4 and len(log) == 2
    assert http.stats("hn").retries == 1 and [r.fault for r in log] == ["slow", "ok"]


async def test_long_retry_after_raises_and_holds_across_polls(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """A Retry-After beyond max_wait raises RateLimited; the next poll sends nothing until it passes."""
    app = create_replay_app(SAMPLES_DIR, faults=FaultPlan(script=["429-seconds"], retry_after=600), clock=clock.now)
    async with serve_app(app) as base:
        http = client(session, clock, policy=RetryPolicy(max_wait=60))
        connector = build_connector(hn(base), http, env={})
        with pytest.raises(RateLimited) as info:
            await connector.poll(None)
        assert info.value.retry_at >= START + timedelta(seconds=600)
        with pytest.raises(RateLimited):
            await connector.poll(None)
        assert len(app[REPLAY_LOG]) == 1
        clock.advance(602)
        result = await connector.poll(None)
    log = app[REPLAY_LOG]
    assert len(result.mentions) == 4 and log[1].at >= log[0].retry_at and not log[1].early


async def test_permanent_4xx_not_retried(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """A 403 is a configuration/auth problem: raised at once, one request only."""
    hits: list[str] = []

    async def forbidden(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"error": "AuthMissing"}, status=403)

    app = web.Application()
    app.router.add_get("/{tail:.*}", forbidden)
    async with serve_app(app) as base:
        connector = build_connector(hn(base), client(session, clock), env={})
        with pytest.raises(PermanentError) as info:
            await connector.poll(None)
    assert len(hits) == 1 and info.value.status == 403 and info.value.connector == "hn"


async def test_budget_at_zero_waits_for_reset(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """When X-RateLimit-Remaining hits zero the next request waits until X-RateLimit-Reset."""
    arrivals: list[datetime] = []
    reset = START + timedelta(seconds=30)

    async def budget(request: web.Request) -> web.Response:
        arrivals.append(clock.now())
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                   "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z")}
        return web.json_response({"ok": True}, headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", budget)
    async with serve_app(app) as base:
        scope = client(session, clock).scope("m", allow_private_hosts=True)
        await scope.get_json(f"{base}/a")
        assert scope.stats.rate_limit_remaining == 0
        await scope.get_json(f"{base}/b")
    assert arrivals[1] >= reset and 30 <= sum(clock.sleeps) <= 31


async def test_mastodon_style_429_without_retry_after_uses_reset(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """A 429 with only X-RateLimit-Reset (Mastodon) waits until that reset."""
    arrivals: list[datetime] = []
    reset = START + timedelta(seconds=45)

    async def limited(request: web.Request) -> web.Response:
        arrivals.append(clock.now())
        if len(arrivals) == 1:
            return web.json_response({"error": "Too many requests"}, status=429, headers={
                "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.isoformat()})
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/{tail:.*}", limited)
    async with serve_app(app) as base:
        scope = client(session, clock).scope("m", allow_private_hosts=True)
        await scope.get_json(f"{base}/x")
    assert arrivals[1] >= reset


async def test_body_size_cap_plain_and_gzip(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """Bodies over max_body are refused, also when they only grow that big after decompression."""
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async def bomb(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(b"0" * 200_000), headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/bomb", bomb)
    async with serve_app(app) as base:
        scope = client(session, clock, max_body=4096).scope("c", allow_private_hosts=True)
        with pytest.raises(PayloadError, match="exceeds"):
            await scope.request("GET", f"{base}/big")
        with pytest.raises(PayloadError, match="exceeds"):
            await scope.request("GET", f"{base}/bomb")


async def test_loopback_hostname_refused(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """A host name resolving to 127.0.0.1 is refused without allow_private_hosts; nothing is sent."""
    app = create_replay_app(SAMPLES_DIR, clock=clock.now)
    async with serve_app(app) as base:
        port = base.rsplit(":", 1)[1]
        connector = build_connector(
            hn(f"http://localhost:{port}", allow_private_hosts=False), client(session, clock), env={}
        )
        with pytest.raises(BlockedAddress):
            await connector.poll(None)
    assert app[REPLAY_LOG] == []


class _StaticResolver(AbstractResolver):
    """aiohttp resolver that sends 'replay.test' to loopback (the session side of the test)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/hackernews/api/v1/search_by_date",
                                    "http://169.254.169.254/latest/meta-data/"])
async def test_redirect_to_private_address_refused(target: str, clock: FakeClock) -> None:
    """A public-looking host that redirects to loopback or the metadata address is refused at that hop."""
    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"] if host == "replay.test" else ["127.0.0.1"]

    app = create_replay_app(SAMPLES_DIR, clock=clock.now)
    async with serve_app(app) as base, aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=_StaticResolver())
    ) as session:
        port = base.rsplit(":", 1)[1]
        http = HttpClient(session, clock=clock.now, sleep=clock.sleep, resolver=public)
        scope = http.scope("c", allow_private_hosts=False)
        with pytest.raises(BlockedAddress):
            await scope.request("GET", f"http://replay.test:{port}/_redirect", params={"to": target.format(port=port)})
        ok = await scope.request(
            "GET", f"http://replay.test:{port}/hackernews/api/v1/search_by_date", params={"query": "x"}
        )
    assert ok.status == 200
    assert [r.path for r in app[REPLAY_LOG]] == ["/_redirect", "/hackernews/api/v1/search_by_date"]


async def test_dns_rebinding_refused_at_connect(clock: FakeClock) -> None:
    """The pre-check's lookup says public, the connect-time lookup says loopback (DNS rebinding):
    the guarded session refuses to connect, so the server never sees the request; a connector that
    allows private hosts still gets through."""
    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    app = create_replay_app(SAMPLES_DIR, clock=clock.now)
    async with serve_app(app) as base, aiohttp.ClientSession(
        connector=guarded_tcp_connector(resolver=_StaticResolver())
    ) as session:
        port = base.rsplit(":", 1)[1]
        url = f"http://replay.test:{port}/hackernews/api/v1/search_by_date"
        http = HttpClient(session, clock=clock.now, sleep=clock.sleep, resolver=public)
        with pytest.raises(BlockedAddress, match="at connect time"):
            await http.scope("strict", allow_private_hosts=False).request("GET", url, params={"query": "x"})
        assert app[REPLAY_LOG] == []
        ok = await http.scope("selfhosted", allow_private_hosts=True).request("GET", url, params={"query": "x"})
    assert ok.status == 200
    assert [r.path for r in app[REPLAY_LOG]] == ["/hackernews/api/v1/search_by_date"]


@pytest.mark.parametrize("separate_pools", [True, False])
async def test_strict_connector_never_reuses_an_allow_private_connection(
    clock: FakeClock, separate_pools: bool
) -> None:
    """A self-hosted (allow-private) connector connects to loopback and its connection stays
    kept-alive; a strict connector then asks for the same host name while DNS now says public.
    With the private pool (as the poller builds it) the strict request must make its own
    connection and be refused at connect time; sharing one pool lets it through, which is the
    hole the second pool closes."""
    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    app = create_replay_app(SAMPLES_DIR, clock=clock.now)
    async with serve_app(app) as base, aiohttp.ClientSession(
        connector=guarded_tcp_connector(resolver=_StaticResolver())
    ) as shared, aiohttp.ClientSession(connector=guarded_tcp_connector(resolver=_StaticResolver())) as private:
        port = base.rsplit(":", 1)[1]
        url = f"http://replay.test:{port}/hackernews/api/v1/search_by_date"
        http = HttpClient(shared, private_session=private if separate_pools else None,
                          clock=clock.now, sleep=clock.sleep, resolver=public)
        ok = await http.scope("selfhosted", allow_private_hosts=True).request("GET", url, params={"query": "x"})
        assert ok.status == 200
        strict = http.scope("strict", allow_private_hosts=False)
        if separate_pools:
            with pytest.raises(BlockedAddress, match="at connect time"):
                await strict.request("GET", url, params={"query": "x"})
            assert len(app[REPLAY_LOG]) == 1
        else:
            assert (await strict.request("GET", url, params={"query": "x"})).status == 200
            assert len(app[REPLAY_LOG]) == 2


async def test_guarded_session_is_strict_outside_a_connector_scope() -> None:
    """Used directly (no connector scope), the guarded session refuses non-public answers."""
    async with aiohttp.ClientSession(connector=guarded_tcp_connector(resolver=_StaticResolver())) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as info:
            await session.get("http://replay.test:9/")
    assert isinstance(info.value.os_error, BlockedAtConnect)


async def test_redirects_followed_and_capped(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """Redirects are followed hop by hop up to 5; a sixth is refused."""
    from urllib.parse import quote

    app = create_replay_app(SAMPLES_DIR, clock=clock.now)
    async with serve_app(app) as base:
        scope = client(session, clock).scope("c", allow_private_hosts=True)

        def chain(hops: int) -> str:
            url = f"{base}/hackernews/api/v1/search_by_date?query=lumetta"
            for _ in range(hops):
                url = f"{base}/_redirect?to={quote(url, safe='')}"
            return url

        payload, _ = await scope.get_json(chain(5))
        assert len(payload["hits"]) == 5
        with pytest.raises(PayloadError, match="redirects"):
            await scope.get_json(chain(6))


async def test_circuit_opens_after_repeated_failures(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """After breaker_threshold exhausted requests the host is not contacted until the cooldown ends."""
    app = create_replay_app(SAMPLES_DIR, faults=FaultPlan(script=["5xx", "5xx"]), clock=clock.now)
    async with serve_app(app) as base:
        policy = RetryPolicy(max_attempts=1, breaker_threshold=2, breaker_cooldown=60)
        connector = build_connector(hn(base), client(session, clock, policy=policy), env={})
        for _ in range(2):
            with pytest.raises(TransientError):
                await connector.poll(None)
        with pytest.raises(TransientError, match="circuit open"):
            await connector.poll(None)
        assert len(app[REPLAY_LOG]) == 2
        clock.advance(61)
        assert len((await connector.poll(None)).mentions) == 4
