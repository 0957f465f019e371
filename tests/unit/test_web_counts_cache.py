"""inbox.web.counts.CountsCache on an injected clock: a value is reused for its TTL; once expired it
is still served at once while one background task reloads it; a failed reload is logged and the
next request tries again."""
from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from inbox.web.counts import CountsCache


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_fresh_then_stale_while_one_reload_runs() -> None:
    clock, calls = Clock(), []
    gate = asyncio.Event()
    gate.set()

    async def load() -> int:
        calls.append(clock.t)
        await gate.wait()
        return len(calls)
    cache = CountsCache(ttl=1.0, clock=clock)
    assert await cache.get("a", load) == 1          # nothing cached: the first request waits
    clock.t += 0.75
    assert await cache.get("a", load) == 1          # fresh: no reload
    assert await cache.get("b", load) == 2          # keys are separate
    clock.t += 0.5                                  # "a" expired
    gate.clear()
    assert await cache.get("a", load) == 1          # served stale at once...
    assert await cache.get("a", load) == 1          # ...and a second request starts no second reload
    await _settle()
    assert calls == [100.0, 100.75, 101.25]
    gate.set()
    await _settle()
    assert await cache.get("a", load) == 3          # the reload's value
    assert calls == [100.0, 100.75, 101.25]


async def test_a_failed_reload_is_logged_and_retried() -> None:
    clock = Clock()
    fail = True

    async def load() -> int:
        if fail:
            raise RuntimeError("db down")
        return 7
    cache = CountsCache(ttl=1.0, clock=clock)
    try:
        await cache.get("x", load)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the first load's error must reach the caller")
    fail = False
    assert await cache.get("x", load) == 7
    clock.t += 2
    fail = True
    with capture_logs() as logs:
        assert await cache.get("x", load) == 7      # stale value; the reload fails in the background
        await _settle()
    assert [e["event"] for e in logs] == ["counts_refresh_failed"]
    fail = False
    assert await cache.get("x", load) == 7
    await _settle()
    clock.t += 0.5
    assert await cache.get("x", load) == 7


async def test_a_change_makes_the_next_request_read_afresh() -> None:
    """After forget() (an item changed) nobody gets the value from before the change: the next
    request reads (concurrent ones share that read), and a read begun before the change is not kept."""
    clock, value = Clock(), [10]
    gate = asyncio.Event()
    gate.set()
    reads = []

    async def load() -> int:
        seen = value[0]
        reads.append(seen)
        await gate.wait()
        return seen
    cache = CountsCache(ttl=1.0, clock=clock)
    assert await cache.get("a", load) == 10
    value[0] = 11
    cache.forget()
    first, second = await asyncio.gather(cache.get("a", load), cache.get("a", load))
    assert (first, second) == (11, 11) and reads == [10, 11]      # one shared read, not two
    gate.clear()
    value[0] = 12
    cache.forget()
    early = asyncio.ensure_future(cache.get("a", load))           # reads 12 ...
    await _settle()
    value[0] = 13
    cache.forget()                                                # ... but 13 is committed meanwhile
    late = asyncio.ensure_future(cache.get("a", load))
    await _settle()
    gate.set()
    assert await early == 12 and await late == 13
    assert await cache.get("a", load) == 13                       # the read from before the change was not kept
