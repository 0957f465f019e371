"""inbox.web.counts.CountsCache on an injected clock: a value is reused for its TTL; once expired it
is still served at once while one background task reloads it; a failed reload is logged and the
next request tries again; after item changes a key is read at most once a second and a change is
never missed for more than two."""
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


async def test_after_a_change_one_read_per_gap_and_never_a_change_older_than_the_lag() -> None:
    """After changed() (an item changed) the value is served marked behind; one background read
    starts once a second has passed since the last read began, so while items keep changing a key is
    read once a second, not once a change; a change two seconds old is never missed (the request
    waits for a read begun after it, concurrent requests sharing it); a read begun before a change
    does not count as fresh."""
    clock, value = Clock(), [10]
    gate = asyncio.Event()
    gate.set()
    reads: list[int] = []

    async def load() -> int:
        seen = value[0]
        reads.append(seen)
        await gate.wait()
        return seen
    cache = CountsCache(ttl=1.0, gap=1.0, max_lag=2.0, clock=clock)
    assert await cache.read("a", load) == (10, False)
    for _ in range(5):                                            # changes keep coming
        value[0] += 1
        cache.changed()
        clock.t += 0.125
        assert await cache.read("a", load) == (10, True)          # served, marked behind
        await _settle()
    assert reads == [10]                                          # no read before the gap
    clock.t += 0.375                                              # 1.0 s since the read began
    assert await cache.read("a", load) == (10, True)              # still served; one read starts
    assert await cache.read("a", load) == (10, True)              # and no second one
    await _settle()
    assert reads == [10, 15]
    assert await cache.read("a", load) == (15, False)             # caught up
    clock.t += 0.5
    assert await cache.read("a", load) == (15, False)

    value[0] = 16
    cache.changed()                                               # at 101.5; then a quiet spell
    clock.t += 2.0
    first, second = await asyncio.gather(cache.read("a", load), cache.read("a", load))
    assert first == second == (16, False) and reads == [10, 15, 16]   # waited, one shared read

    gate.clear()
    value[0] = 17
    cache.changed()
    clock.t += 2.0
    early = asyncio.ensure_future(cache.read("a", load))          # waits for a read of 17 ...
    await _settle()
    value[0] = 18
    cache.changed()                                               # ... but 18 is committed meanwhile
    late = asyncio.ensure_future(cache.read("a", load))           # the read under way began after
    await _settle()                                               # the lagging change (17): shared
    gate.set()
    assert await early == (17, True) and await late == (17, True) and reads == [10, 15, 16, 17]
    assert await cache.read("a", load) == (17, True)              # behind the change to 18 ...
    clock.t += 2.0
    assert await cache.read("a", load) == (18, False)             # ... which is never missed for long
