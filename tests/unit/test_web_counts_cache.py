"""inbox.web.counts.CountsCache: a value is reused for its TTL (on an injected clock), refreshed
after it, and while one request refreshes a key the others get the previous value at once."""
from __future__ import annotations

import asyncio

from inbox.web.counts import CountsCache


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def test_ttl_on_a_fake_clock() -> None:
    clock, calls = Clock(), []

    async def load() -> int:
        calls.append(clock.t)
        return len(calls)
    cache = CountsCache(ttl=1.0, clock=clock)
    assert await cache.get("a", load) == 1
    clock.t += 0.75
    assert await cache.get("a", load) == 1      # within the TTL: no reload
    assert await cache.get("b", load) == 2      # keys are separate
    clock.t += 0.5
    assert await cache.get("a", load) == 3      # expired: reloaded
    assert calls == [100.0, 100.75, 101.25]


async def test_single_flight_serves_the_previous_value() -> None:
    clock = Clock()
    gate = asyncio.Event()
    n = 0

    async def load() -> int:
        nonlocal n
        n += 1
        if n == 2:
            await gate.wait()
        return n * 10
    cache = CountsCache(ttl=1.0, clock=clock)
    assert await cache.get("q", load) == 10
    clock.t += 5
    refresher = asyncio.create_task(cache.get("q", load))
    await asyncio.sleep(0)                       # the refresh is now waiting inside load()
    assert await cache.get("q", load) == 10      # a second request does not wait nor reload
    assert n == 2
    gate.set()
    assert await refresher == 20
    assert await cache.get("q", load) == 20


async def test_a_failed_load_does_not_block_the_key() -> None:
    cache = CountsCache(ttl=1.0, clock=Clock())

    async def boom() -> int:
        raise RuntimeError("db down")

    async def ok() -> int:
        return 7
    try:
        await cache.get("x", boom)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the error must reach the caller")
    assert await cache.get("x", ok) == 7
