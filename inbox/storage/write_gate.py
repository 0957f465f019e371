"""A fair, prioritised queue for SQLite's one write lock, inside one process.

SQLite lets one transaction write at a time; a writer that finds the lock taken sleeps in SQLite's
busy handler and retries, with no order among the waiters. Under a burst the ingest batches of
several sources held the lock almost all the time, and an agent's claim, retrying on its own, could
wait for seconds behind batches that came after it. The gate queues a process's writers before
they ask SQLite: interactive writes (claims, resolves, notes, the jobs) in arrival order, ahead of
bulk writes (ingest batches, marked with ``bulk_writer``), which go in arrival order after them.
Another process (a CLI import) still meets the lock in SQLite's busy handler, as before.

Pure asyncio: ``inbox.storage.engine`` acquires it when a write transaction begins and releases it when that
transaction ends or its connection goes back to the pool."""
from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Any

__all__ = ["WriteGate", "INTERACTIVE", "BULK"]

INTERACTIVE = 0
BULK = 1


class WriteGate:
    def __init__(self) -> None:
        self.holder: Any = None               # the connection whose transaction holds the gate
        self._held = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for *_, f in self._waiters if not f.done())

    async def acquire(self, priority: int = INTERACTIVE) -> None:
        """Wait for the gate: lower ``priority`` first, then arrival order. A waiter that is
        cancelled (``asyncio.wait_for``'s timeout included) gives up its place."""
        if not self._held and not self.waiting:
            self._held = True
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), fut))
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release()            # it was handed to us as we gave up: pass it on
            else:
                fut.cancel()              # skipped by release()
            raise

    def release(self) -> None:
        """Hand the gate to the first waiter, or open it."""
        self.holder = None
        while self._waiters:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)      # still held: ownership passes to that waiter
                return
        self._held = False

    def release_if(self, conn: Any) -> bool:
        """Release when ``conn`` holds the gate (idempotent: end of transaction, pool check-in)."""
        if self._held and self.holder is not None and self.holder is conn:
            self.release()
            return True
        return False
