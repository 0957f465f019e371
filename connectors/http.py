"""The one HTTP client every connector uses: retries, rate limits, SSRF guard, size cap.

Construct one per process around the shared ``aiohttp.ClientSession``::

    http = HttpClient(session, private_session=other)   # real clock, asyncio.sleep, random jitter
    http = HttpClient(session, clock=fake.now, sleep=fake.sleep, random=Random(0))   # tests

and give each connector a :class:`HttpScope` (``http.scope(name, allow_private_hosts=...,
timeout=...)``); the scope keeps that connector's :class:`HttpStats`.

Connectors with ``allow_private_hosts`` send through ``private_session`` when one is given, so
their kept-alive connections (possibly to private addresses) sit in a pool of their own: a
strict connector never reuses one, and every connection it makes passes the connect-time check.
Without ``private_session`` both kinds share ``session`` (tests, single-policy scripts).

What a request does (``HttpScope.request``):

1. waits until the host's gate opens: a ``Retry-After``/reset time seen earlier, or a back-off;
   a wait longer than ``RetryPolicy.max_wait`` raises :class:`RateLimited` instead of sleeping, so
   a request is never sent before its ``Retry-After``, not even in the next poll;
2. checks the URL with the SSRF guard, sends with ``allow_redirects=False`` and follows at most
   5 redirects itself, checking every hop (and dropping ``Authorization`` on a cross-origin hop);
3. reads at most ``max_body`` bytes of the (decompressed) body, else :class:`PayloadError`;
4. 429, and 503 with ``Retry-After``: waits for ``Retry-After`` / the rate-limit reset, whichever
   is later (back-off when neither is given); 5xx and network errors: exponential back-off with
   full jitter; other 4xx: :class:`PermanentError` at once; after ``max_attempts`` the last error
   is raised;
5. when the response says the remaining budget is at or below ``low_budget``, the gate closes
   until the reset time plus jitter ("slow down before hitting zero");
6. after ``breaker_threshold`` requests in a row that failed every attempt, the host's circuit
   opens for ``breaker_cooldown`` seconds.
"""
from __future__ import annotations

import asyncio
import json
import random as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .errors import BlockedAddress, ConnectorError, PayloadError, PermanentError, RateLimited, TransientError
from .http_types import Classifier, Clock, HttpResponse, HttpStats, RetryPolicy, Sleep, utcnow
from .netguard import BlockedAtConnect, Resolver, check_url, guard_policy, system_resolver
from .ratelimit import parse_rate_limit, parse_retry_after

__all__ = [
    "Clock",
    "Sleep",
    "utcnow",
    "RetryPolicy",
    "HttpStats",
    "HttpResponse",
    "Classifier",
    "HttpClient",
    "HttpScope",
    "MAX_BODY_BYTES",
    "MAX_REDIRECTS",
]

_log = structlog.get_logger("connectors.http")

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(slots=True)
class _Gate:
    """Per (connector, host) pacing state; survives between polls."""

    not_before: datetime | None = None
    failures: int = 0
    open_until: datetime | None = None


class HttpClient:
    """Wraps the shared ``aiohttp.ClientSession`` (and the allow-private one); owns pacing state
    and per-connector stats."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        private_session: aiohttp.ClientSession | None = None,
        clock: Clock = utcnow,
        sleep: Sleep = asyncio.sleep,
        random: _random.Random | None = None,
        policy: RetryPolicy | None = None,
        max_body: int = MAX_BODY_BYTES,
        resolver: Resolver = system_resolver,
        user_agent: str = "social-inbox/0.1 (brand-mention monitor)",
    ) -> None:
        self.session = session
        self.private_session = private_session
        self.clock = clock
        self.sleep = sleep
        self.random = random or _random.Random()
        self.policy = policy or RetryPolicy()
        self.max_body = max_body
        self.resolver = resolver
        self.user_agent = user_agent
        self._stats: dict[str, HttpStats] = {}
        self._gates: dict[tuple[str, str], _Gate] = {}

    def session_for(self, allow_private: bool) -> aiohttp.ClientSession:
        """The session a scope sends through: allow-private scopes use their own pool when given."""
        if allow_private and self.private_session is not None:
            return self.private_session
        return self.session

    def stats(self, connector: str) -> HttpStats:
        """The live stats object of ``connector`` (created on first use)."""
        return self._stats.setdefault(connector, HttpStats())

    def scope(
        self,
        connector: str,
        *,
        allow_private_hosts: bool = False,
        timeout: float = 30.0,
        redact_urls: bool = False,
    ) -> HttpScope:
        """A view of this client for one connector."""
        return HttpScope(self, connector, allow_private_hosts, timeout, redact_urls)

    def not_before(self, connector: str, url: str) -> datetime | None:
        """When the gate for ``url``'s host opens for ``connector`` (None: open)."""
        gate = self._gates.get((connector, _host_key(URL(url))))
        return gate.not_before if gate else None

    def _gate(self, connector: str, url: URL) -> _Gate:
        return self._gates.setdefault((connector, _host_key(url)), _Gate())

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * (2 ** (attempt - 1)))
        return self.random.uniform(0, ceiling)


def _host_key(url: URL) -> str:
    return f"{url.scheme}://{url.host}:{url.port}"


def _display(url: URL, redact: bool) -> str:
    return f"{url.scheme}://{url.host}/…" if redact else str(url)


class HttpScope:
    """One connector's view of the :class:`HttpClient` (its name, SSRF setting, timeout, stats)."""

    def __init__(
        self, client: HttpClient, connector: str, allow_private: bool, timeout: float, redact: bool
    ) -> None:
        self.client = client
        self.connector = connector
        self.allow_private = allow_private
        self.timeout = timeout
        self.redact = redact
        self.log = _log.bind(connector=connector)

    @property
    def stats(self) -> HttpStats:
        return self.client.stats(self.connector)

    def now(self) -> datetime:
        return self.client.clock()

    async def get_json(self, url: str, **kwargs: Any) -> tuple[Any, HttpResponse]:
        """GET and decode JSON; a body that is not JSON counts as a failed attempt (retried)."""
        response = await self.request("GET", url, decode=json.loads, **kwargs)
        return response.json(), response

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | Mapping[str, str] | None = None,
        classify: Classifier | None = None,
        accept: frozenset[int] = frozenset({304}),
        decode: Callable[[bytes], Any] | None = None,
    ) -> HttpResponse:
        """Send one logical request with the retry rules of the module docstring.

        Returns a 2xx response or one whose status is in ``accept`` (by default 304). ``decode``
        is tried on 2xx bodies; a ``ValueError`` from it is retried like a 5xx, then raised as
        :class:`PayloadError`.
        """
        client = self.client
        policy = client.policy
        target = URL(url)
        if params:
            target = target.update_query(dict(params))
        gate = client._gate(self.connector, target)
        attempt = 0
        while True:
            attempt += 1
            await self._wait(gate, target)
            failure: ConnectorError
            delay: float | None = None
            try:
                # the session's GuardedResolver checks the connected address under this policy
                with guard_policy(allow_private=self.allow_private, connector=self.connector):
                    response = await self._send(method, target, headers, json_body, data)
            except TransientError as exc:
                failure = exc
            else:
                self._note_budget(gate, response)
                if response.status < 300 or response.status in accept:
                    error = self._decode_error(response, decode)
                    if error is None:
                        gate.failures = 0
                        return response
                    failure = error
                else:
                    failure, delay = self._classify(response, gate, attempt, classify)
            if attempt >= policy.max_attempts:
                self._count_failure(gate)
                self.stats.last_error = str(failure)
                raise failure
            self.stats.retries += 1
            if delay is None:
                delay = client._backoff(attempt)
            wake = client.clock() + timedelta(seconds=delay)
            if gate.not_before is None or gate.not_before < wake:
                gate.not_before = wake
            self.log.info(
                "http.retry", attempt=attempt, error_kind=failure.kind, status=failure.status,
                wait_s=round((gate.not_before - client.clock()).total_seconds(), 3),
            )

    def _decode_error(
        self, response: HttpResponse, decode: Callable[[bytes], Any] | None
    ) -> ConnectorError | None:
        if decode is None or response.status >= 300:
            return None
        try:
            decode(response.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurd nesting
            return PayloadError(
                f"undecodable body: {exc}", connector=self.connector, url=_display(URL(response.url), self.redact),
                status=response.status,
            )
        return None

    def _classify(
        self, response: HttpResponse, gate: _Gate, attempt: int, classify: Classifier | None
    ) -> tuple[ConnectorError, float | None]:
        """Turn an error response into (failure to retry, delay) or raise a final error."""
        client = self.client
        now = client.clock()
        context: dict[str, Any] = {
            "connector": self.connector, "url": _display(URL(response.url), self.redact), "status": response.status,
        }
        verdict = classify(response) if classify else None
        if isinstance(verdict, ConnectorError):
            verdict.connector = verdict.connector or self.connector
            verdict.url = verdict.url or _display(URL(response.url), self.redact)
            verdict.status = verdict.status if verdict.status is not None else response.status
            if isinstance(verdict, RateLimited):
                gate.not_before = max(gate.not_before or verdict.retry_at, verdict.retry_at)
            self.stats.last_error = str(verdict)
            raise verdict
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        if response.status == 429 or (response.status == 503 and retry_after is not None):
            info = parse_rate_limit(response.headers, now)
            candidates = [t for t in (retry_after, info.reset_at if info else None) if t is not None]
            if candidates:
                retry_at = max(candidates) + timedelta(seconds=client.random.uniform(0, client.policy.reset_jitter))
            else:
                retry_at = now + timedelta(seconds=client._backoff(attempt))
            gate.not_before = max(gate.not_before or retry_at, retry_at)
            delay = (retry_at - now).total_seconds()
            if response.status == 429:
                return RateLimited("rate limited", retry_at=retry_at, **context), delay
            return TransientError("service unavailable", **context), delay
        if response.status >= 500 or verdict == "retry":
            return TransientError(f"HTTP {response.status}", **context), None
        snippet = response.body[:300].decode("utf-8", errors="replace")
        error = PermanentError(f"HTTP {response.status}: {snippet}", **context)
        self.stats.last_error = str(error)
        raise error

    def _note_budget(self, gate: _Gate, response: HttpResponse) -> None:
        client = self.client
        info = parse_rate_limit(response.headers, client.clock())
        if info is None:
            return
        self.stats.rate_limit_remaining = info.remaining
        self.stats.rate_limit_reset = info.reset_at
        if info.remaining is not None and info.reset_at is not None and info.remaining <= client.policy.low_budget:
            wake = info.reset_at + timedelta(seconds=client.random.uniform(0, client.policy.reset_jitter))
            if gate.not_before is None or gate.not_before < wake:
                gate.not_before = wake
                self.log.info("http.budget_low", remaining=info.remaining, reset_at=info.reset_at.isoformat())

    def _count_failure(self, gate: _Gate) -> None:
        gate.failures += 1
        if gate.failures >= self.client.policy.breaker_threshold:
            gate.open_until = self.client.clock() + timedelta(seconds=self.client.policy.breaker_cooldown)
            gate.failures = 0
            self.log.warning("http.circuit_open", until=gate.open_until.isoformat())

    async def _wait(self, gate: _Gate, target: URL) -> None:
        client = self.client
        now = client.clock()
        if gate.open_until is not None:
            if now < gate.open_until:
                raise TransientError(
                    "circuit open after repeated failures", connector=self.connector,
                    url=_display(target, self.redact),
                )
            gate.open_until = None
        while gate.not_before is not None and gate.not_before > now:
            wait = (gate.not_before - now).total_seconds()
            if wait > client.policy.max_wait:
                raise RateLimited(
                    f"next request allowed in {wait:.0f}s", retry_at=gate.not_before,
                    connector=self.connector, url=_display(target, self.redact),
                )
            await client.sleep(wait)
            now = client.clock()

    async def _send(
        self,
        method: str,
        target: URL,
        headers: Mapping[str, str] | None,
        json_body: Any,
        data: bytes | Mapping[str, str] | None,
    ) -> HttpResponse:
        client = self.client
        sent_headers: CIMultiDict[str] = CIMultiDict({"User-Agent": client.user_agent})
        sent_headers.update(headers or {})
        current = target
        for _hop in range(MAX_REDIRECTS + 1):
            shown = _display(current, self.redact)
            await check_url(current, allow_private=self.allow_private, resolver=client.resolver,
                            connector=self.connector)
            stats = self.stats
            stats.requests += 1
            stats.last_request_at = client.clock()
            try:
                async with client.session_for(self.allow_private).request(
                    method, current, headers=sent_headers, json=json_body, data=data,
                    allow_redirects=False, timeout=aiohttp.ClientTimeout(total=self.timeout),
                ) as resp:
                    stats.last_status = resp.status
                    location = resp.headers.get("Location")
                    if resp.status in _REDIRECTS and location:
                        following = current.join(URL(location))
                        if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                            method, json_body, data = "GET", None, None
                        if (following.scheme, following.host, following.port) != (
                            current.scheme,
                            current.host,
                            current.port,
                        ):
                            sent_headers.popall("Authorization", None)
                        current = following
                        continue
                    body = await self._read_body(resp, shown)
                    return HttpResponse(resp.status, str(current), CIMultiDictProxy(CIMultiDict(resp.headers)), body)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                stats.last_status = None
                blocked = getattr(exc, "os_error", None)
                if isinstance(blocked, BlockedAtConnect):
                    raise BlockedAddress(str(blocked), connector=self.connector, url=shown) from exc
                raise TransientError(
                    f"{type(exc).__name__}: {exc}".rstrip(": "), connector=self.connector, url=shown
                ) from exc
        raise PayloadError(f"more than {MAX_REDIRECTS} redirects", connector=self.connector,
                           url=_display(target, self.redact))

    async def _read_body(self, resp: aiohttp.ClientResponse, shown: str) -> bytes:
        limit = self.client.max_body
        declared = resp.content_length
        if declared is not None and declared > limit:
            raise PayloadError(f"body of {declared} bytes exceeds {limit}", connector=self.connector,
                               url=shown, status=resp.status)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise PayloadError(f"body exceeds {limit} bytes", connector=self.connector,
                                   url=shown, status=resp.status)
            chunks.append(chunk)
        return b"".join(chunks)
