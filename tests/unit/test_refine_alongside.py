"""RefineAlongside: an import's items are refined in whole chunks while the ingest goes on (BLAS on
one thread), the rest on every core once it is over; never past the limit; a skip stops it."""
from __future__ import annotations

import asyncio
from typing import Any

from inbox.ingest.second_look import RefineAlongside, RefineResult


class FakeRefiner:
    def __init__(self, skipped: str | None = None) -> None:
        self.calls: list[tuple[list[int], bool]] = []
        self.skipped = skipped

    async def run_once(self, limit: int | None = None, *, among: list[int] | None = None,
                       foreground: bool = False) -> RefineResult:
        assert among is not None and limit == len(among)
        self.calls.append((list(among), foreground))
        await asyncio.sleep(0)
        if self.skipped:
            return RefineResult(skipped=self.skipped)
        return RefineResult(looked_at=len(among), moves=[("pr", "customer_care")] * (among[0] % 2))


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_whole_chunks_while_ingesting_then_the_rest_on_every_core() -> None:
    fake = FakeRefiner()
    along = RefineAlongside(fake, limit=10, chunk=4)  # type: ignore[arg-type]  # duck-typed Refiner
    along.add([1, 2, 3])
    await _settle()
    assert fake.calls == []                    # not a whole chunk yet
    along.add([4, 5, 6])
    await _settle()
    assert fake.calls == [([1, 2, 3, 4], False)]  # refined while the ingest goes on, one core
    along.add([7, 8, 9, 10, 11, 12])           # 11 and 12 are past the limit
    await _settle()
    total = await along.finish()               # the ingest is over: the rest on every core
    assert fake.calls == [([1, 2, 3, 4], False), ([5, 6, 7, 8], False), ([9, 10], True)]
    assert total.looked_at == 10 and total.moves == [("pr", "customer_care")] * 3  # chunks from 1, 5, 9


async def test_a_skip_stops_it() -> None:
    fake = FakeRefiner(skipped="model m has no refiner head")
    along = RefineAlongside(fake, limit=100, chunk=2)  # type: ignore[arg-type]
    along.add([1, 2, 3, 4, 5])
    await _settle()
    along.add([6, 7])
    total = await along.finish()
    assert fake.calls == [([1, 2], False)] and total.skipped == "model m has no refiner head"


async def test_cancel_after_a_failed_ingest_leaves_the_rest() -> None:
    fake = FakeRefiner()
    along = RefineAlongside(fake, limit=100, chunk=50)  # type: ignore[arg-type]
    along.add(list(range(10)))
    await along.cancel()
    assert fake.calls == []
    finished: Any = await asyncio.wait_for(along.finish(), 1)  # finishing a cancelled one does not hang
    assert finished.looked_at == 0
