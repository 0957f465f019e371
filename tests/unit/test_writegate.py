"""inbox.storage.write_gate.WriteGate: interactive writers before bulk ones, arrival order within each,
a waiter that gives up (timeout, cancellation) never keeps the gate."""
from __future__ import annotations

import asyncio

import pytest

from inbox.storage.write_gate import BULK, INTERACTIVE, WriteGate


async def test_priority_then_arrival_order() -> None:
    gate, order = WriteGate(), []
    await gate.acquire(BULK)                      # a batch holds it

    async def writer(name: str, prio: int) -> None:
        await gate.acquire(prio)
        order.append(name)
        gate.release()
    tasks = []
    for name, prio in (("b2", BULK), ("i1", INTERACTIVE), ("b3", BULK), ("i2", INTERACTIVE)):
        tasks.append(asyncio.create_task(writer(name, prio)))
        await asyncio.sleep(0)
    assert gate.waiting == 4 and order == []
    gate.release()
    await asyncio.gather(*tasks)
    assert order == ["i1", "i2", "b2", "b3"]
    await gate.acquire(BULK)                      # open again: taken at once
    gate.release()


async def test_a_waiter_that_times_out_or_is_cancelled_does_not_keep_it() -> None:
    gate = WriteGate()
    await gate.acquire()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(gate.acquire(), 0.01)
    cancelled = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    last = asyncio.create_task(gate.acquire(BULK))
    await asyncio.sleep(0)
    gate.release()                                # skips the two that gave up
    await asyncio.wait_for(last, 1)
    gate.release()
    await asyncio.wait_for(gate.acquire(), 1)


async def test_release_if_only_for_the_holder() -> None:
    gate = WriteGate()
    await gate.acquire()
    gate.holder = a = object()
    assert gate.release_if(object()) is False
    assert gate.release_if(a) is True
    assert gate.release_if(a) is False            # idempotent
    await asyncio.wait_for(gate.acquire(), 1)
