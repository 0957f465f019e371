"""A local server that answers like the platforms, from recorded responses, with optional faults.

``create_replay_app(root)`` serves the folders under ``root`` (see :mod:`connectors.replay_data`)
at ``/mastodon`` (also ``/mastodon/<instance>`` for several instances), ``/bluesky``, ``/reddit``,
``/hackernews``, ``/x``, ``/youtube`` and ``/rss/<file>``; point a connector's ``base_url`` (or
feed URL) there. Cursors and pages are honoured, so a second poll with the returned cursor gets
only what was published since (tests publish with ``app[REPLAY_STORE].add(...)``).

Faults (:class:`FaultPlan`) are drawn from a seeded generator in request order, so a run is
repeatable: 5xx, 429 with ``Retry-After`` in seconds or HTTP-date form (plus the platform's reset
header), slow answers (client timeouts), malformed or truncated bodies, repeated page tokens. A
request that arrives before the ``Retry-After`` it was given is answered 429 again and marked
``early`` in the log. Every request is recorded (:class:`ReplayRecord`, ``app[REPLAY_LOG]``) with
its arrival time on the app's clock (pass the tests' fake clock).

``python -m connectors.replay ROOT PORT [--host H] [--seed N --error-rate F --rate-limit-rate F]``
runs it (ROOT ``samples`` means the bundled samples).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from . import replay_routes as routes
from .context_sandbox import ContextSandbox
from .replay_data import ReplayStore
from .write_sandbox import WriteSandbox

__all__ = [
    "SAMPLES_DIR",
    "FaultPlan",
    "ReplayRecord",
    "REPLAY_STORE",
    "REPLAY_LOG",
    "create_replay_app",
    "main",
]

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
FAULTS = ("ok", "5xx", "429", "429-date", "429-seconds", "slow", "malformed", "truncated", "repeat")
_5XX = (500, 502, 503, 504)


@dataclass
class FaultPlan:
    """Which requests fail, and how. Rates are fractions of requests (drawn with ``seed``).

    ``script`` forces the faults of the first requests in order (values from :data:`FAULTS`);
    afterwards the rates apply. ``only_prefix`` limits faults to paths under it.
    """

    seed: int = 0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    slow_rate: float = 0.0
    malformed_rate: float = 0.0
    truncated_rate: float = 0.0
    repeat_rate: float = 0.0
    retry_after: int = 2
    retry_after_form: str = "mixed"  # seconds | http-date | mixed (alternating)
    reset_headers: bool = True
    slow_seconds: float = 2.0
    script: Sequence[str] = ()
    only_prefix: str | None = None
    _rng: random.Random = field(init=False, repr=False)
    _count: int = field(default=0, init=False, repr=False)
    _limited: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        unknown = set(self.script) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; use {FAULTS}")

    def draw(self, path: str) -> str:
        """The fault for the next request to ``path``."""
        if self.only_prefix and not path.startswith(self.only_prefix):
            return "ok"
        index = self._count
        self._count += 1
        if index < len(self.script):
            fault = self.script[index]
        else:
            u = self._rng.random()
            fault = "ok"
            edge = 0.0
            for name, rate in (("5xx", self.error_rate), ("429", self.rate_limit_rate), ("slow", self.slow_rate),
                               ("malformed", self.malformed_rate), ("truncated", self.truncated_rate),
                               ("repeat", self.repeat_rate)):
                edge += rate
                if u < edge:
                    fault = name
                    break
        if fault == "429":
            form = self.retry_after_form
            if form == "mixed":
                form = "http-date" if self._limited % 2 else "seconds"
            self._limited += 1
            fault = "429-date" if form == "http-date" else "429-seconds"
        return fault


@dataclass
class ReplayRecord:
    """One request as the server saw it."""

    at: datetime
    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    fault: str = "ok"
    retry_at: datetime | None = None
    early: bool = False


@dataclass
class _State:
    store: ReplayStore
    plan: FaultPlan
    clock: Callable[[], datetime]
    match_queries: bool
    bluesky_auth: bool
    writes: WriteSandbox | None = None
    context: ContextSandbox | None = None
    log: list[ReplayRecord] = field(default_factory=list)
    blocked_until: dict[str, datetime] = field(default_factory=dict)
    status_cycle: int = 0


REPLAY_STORE = web.AppKey("replay_store", ReplayStore)
REPLAY_LOG = web.AppKey("replay_log", list)
REPLAY_PLAN = web.AppKey("replay_plan", FaultPlan)
_STATE = web.AppKey("replay_state", _State)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_replay_app(
    root: Path,
    *,
    faults: FaultPlan | None = None,
    clock: Callable[[], datetime] | None = None,
    match_queries: bool = True,
    bluesky_auth: bool = False,
    writes: WriteSandbox | None = None,
    context: ContextSandbox | None = None,
) -> web.Application:
    """The replay server for ``root``. ``match_queries=False`` serves every item whatever the
    search terms (for recorded fixtures about other topics); ``bluesky_auth=True`` requires a
    session from ``createSession`` for ``searchPosts``; ``context`` answers the read requests of
    thread context (a post by its id) from its posts; ``writes`` answers every POST, and every other
    path the recordings do not serve, as the platforms' write APIs would (the demo's replies)."""
    state = _State(ReplayStore.load(Path(root)), faults or FaultPlan(), clock or _utcnow, match_queries, bluesky_auth,
                   writes, context)
    app = web.Application()
    app[_STATE] = state
    app[REPLAY_STORE] = state.store
    app[REPLAY_LOG] = state.log
    app[REPLAY_PLAN] = state.plan
    app.router.add_route("*", "/{tail:.*}", _handle)
    return app


def _reset_headers(platform: str, retry_at: datetime, now: datetime) -> dict[str, str]:
    epoch = str(math.ceil(retry_at.timestamp()))
    if platform == "mastodon":
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": retry_at.isoformat().replace("+00:00", "Z")}
    if platform == "bluesky":
        return {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Reset": epoch,
                "RateLimit-Policy": "3000;w=300"}
    if platform == "reddit":
        return {"X-Ratelimit-Used": "600", "X-Ratelimit-Remaining": "0.0",
                "X-Ratelimit-Reset": str(math.ceil((retry_at - now).total_seconds()))}
    if platform == "x":
        return {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": epoch}
    return {}


_429_BODIES: dict[str, Any] = {
    "mastodon": {"error": "Too many requests"},
    "bluesky": {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
    "reddit": {"message": "Too Many Requests", "error": 429},
    "x": {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
}


def _too_many(state: _State, platform: str, fault: str, now: datetime) -> tuple[web.Response, datetime]:
    seconds = state.plan.retry_after
    if fault == "429-date":
        retry_at = (now + timedelta(seconds=seconds)).replace(microsecond=0) + timedelta(seconds=1)
        header = format_datetime(retry_at, usegmt=True)
    else:
        retry_at = now + timedelta(seconds=seconds)
        header = str(seconds)
    headers = {"Retry-After": header}
    if state.plan.reset_headers:
        headers.update(_reset_headers(platform, retry_at, now))
    body = _429_BODIES.get(platform, {"error": "too many requests"})
    return web.json_response(body, status=429, headers=headers), retry_at


async def _handle(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    now = state.clock()
    platform = request.path.strip("/").split("/", 1)[0]
    record = ReplayRecord(now, request.method, request.path, dict(request.query))
    state.log.append(record)
    blocked = state.blocked_until.get(platform)
    if blocked is not None and now < blocked:
        record.early = True
        record.status = 429
        wait = math.ceil((blocked - now).total_seconds())
        return web.json_response({"error": "too early"}, status=429, headers={"Retry-After": str(wait)})
    fault = state.plan.draw(request.path)
    record.fault = fault
    if fault.startswith("429"):
        limited, record.retry_at = _too_many(state, platform, fault, now)
        state.blocked_until[platform] = record.retry_at
        record.status = 429
        return limited
    if fault == "5xx":
        status = _5XX[state.status_cycle % len(_5XX)]
        state.status_cycle += 1
        record.status = status
        return web.json_response({"message": "Internal Server Error", "error": status}, status=status)
    if fault == "slow":
        await asyncio.sleep(state.plan.slow_seconds)
    response: web.StreamResponse = await _answer(request, state, repeat=fault == "repeat", now=now)
    record.status = response.status
    if fault in ("malformed", "truncated") and isinstance(response, web.Response) and response.body:
        return await _damage(request, response, truncated=fault == "truncated")
    return response


async def _damage(request: web.Request, response: web.Response, *, truncated: bool) -> web.StreamResponse:
    body = bytes(response.body) if isinstance(response.body, (bytes, bytearray)) else b""
    half = body[: max(1, len(body) // 2)]
    if not truncated:
        return web.Response(body=half, status=response.status, content_type=response.content_type)
    stream = web.StreamResponse(status=response.status, headers={"Content-Type": response.content_type})
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(half)
    if request.transport is not None:
        request.transport.close()
    return stream


async def _answer(request: web.Request, state: _State, *, repeat: bool, now: datetime) -> web.StreamResponse:
    found = routes.route(request.path)
    if found is None and state.context is not None and (post := await state.context.answer(request)) is not None:
        return post
    if state.writes is not None and (found is None or request.method == "POST"):
        return await state.writes.handle(request)
    if found is None:
        return web.json_response({"error": "Not Found"}, status=404)
    name, params = found
    query = request.query
    store, match = state.store, state.match_queries
    if name == "rss":
        status, body, headers = routes.feed(store, params["name"], request.headers, now)
        return web.Response(body=body, status=status, headers=headers)
    if name == "redirect":
        target = query.get("to", "/")
        raise web.HTTPFound(target) if query.get("status", "302") == "302" else web.HTTPTemporaryRedirect(target)
    if name.startswith("mastodon"):
        base = f"{request.scheme}://{request.host}{request.path}"
        answer = routes.mastodon(store, query, match, instance=params.get("instance"), tag=params.get("tag"),
                                 base=base, repeat=repeat)
    elif name == "bluesky_search":
        answer = routes.bluesky(store, query, match, repeat=repeat, auth=request.headers.get("Authorization"),
                                require_auth=state.bluesky_auth)
    elif name == "bluesky_create":
        answer = routes.bluesky_session(await _json_body(request), refresh=None)
    elif name == "bluesky_refresh":
        answer = routes.bluesky_session(None, refresh=request.headers.get("Authorization", ""))
    elif name == "reddit_search":
        answer = routes.reddit(store, query, match, subs=params.get("subs"), listing="search", repeat=repeat)
    elif name == "reddit_listing":
        answer = routes.reddit(store, query, match, subs=params["subs"], listing=params["listing"], repeat=repeat)
    elif name == "hackernews":
        answer = routes.hackernews(store, query, match, repeat=repeat)
    elif name == "x":
        answer = routes.x(store, query, match, repeat=repeat)
    else:
        answer = routes.youtube(store, query, match, kind="search" if name == "youtube_search" else "threads",
                                repeat=repeat)
    status, payload, headers = answer
    return web.json_response(payload, status=status, headers=headers)


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m connectors.replay ROOT PORT``: serve ROOT on 127.0.0.1:PORT until stopped."""
    parser = argparse.ArgumentParser(prog="python -m connectors.replay", description=__doc__.split("\n")[0])
    parser.add_argument("root", help="folder with one sub-folder per platform ('samples' = bundled samples)")
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit-rate", type=float, default=0.0)
    parser.add_argument("--retry-after", type=int, default=2)
    parser.add_argument("--all-items", action="store_true", help="ignore search terms (recorded fixtures)")
    args = parser.parse_args(argv)
    root = SAMPLES_DIR if args.root == "samples" else Path(args.root)
    plan = FaultPlan(seed=args.seed, error_rate=args.error_rate, rate_limit_rate=args.rate_limit_rate,
                     retry_after=args.retry_after)
    app = create_replay_app(root, faults=plan, match_queries=not args.all_items)
    print(json.dumps({"replay": str(root), "url": f"http://{args.host}:{args.port}"}), flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
