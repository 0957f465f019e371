"""The poll pipeline: a connector's batches are stored one after another while the connector
already fetches and parses the next one.

    totals = PollTotals()
    await run_pipelined(poll_in_batches(connector, cursor, batch_size=1000), store, totals)

``store(batch)`` commits one batch with its cursor (the ingest pipeline does mentions and cursor
in one transaction). Batches are stored strictly in order, each after the previous commit, so a
stored cursor never covers a mention that is not stored. At most ``ahead`` batches wait between
the two sides, so a slow database holds back the fetching rather than filling memory.

Failures: when fetching fails, the batches already handed over are stored first, then the
error is raised; when storing fails, fetching is cancelled and the error is raised. Either way
what was committed stays committed and is consistent with its cursor; the rest is fetched again
by the next poll (at-least-once, and the insert is idempotent).
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from typing import Any

from connectors.base import PollResult, SourceWarning, StreamError
from inbox.domain.source_health import PollOutcome
from inbox.ingest.pipeline import IngestResult

__all__ = ["PollTotals", "run_pipelined"]

_SUMMED = ("read", "ingested", "duplicates", "rejected", "reposts", "queued", "triaged", "edited")


@dataclass(slots=True)
class PollTotals:
    """What the stored batches of one poll add up to (kept up to date while the poll runs, so a
    poll that fails half-way still reports what it committed)."""

    batches: int = 0
    fetched: int = 0
    requests: int = 0
    pages: int = 0
    errors: list[StreamError] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SUMMED, 0))
    teams: dict[str, int] = field(default_factory=dict)
    warnings: list[SourceWarning] = field(default_factory=list)
    read: int = 0  # items the connector understood, new or not (at least the mentions it handed over)
    source_rejects: int = 0  # the connector's rejects (the rest of counts["rejected"] are the inbox's)
    first_reject: str | None = None

    def add(self, batch: PollResult, stored: IngestResult) -> None:
        self.batches += 1
        self.fetched += len(batch.mentions)
        self.requests += batch.requests
        self.pages += batch.pages
        self.errors.extend(batch.errors)
        self.warnings.extend(batch.warnings)
        self.read += max(batch.read, len(batch.mentions))
        self.source_rejects += len(batch.rejects)
        if self.first_reject is None and batch.rejects:
            self.first_reject = batch.rejects[0].reason
        summary = stored.summary()
        for key in _SUMMED:
            self.counts[key] += int(summary[key])
        for team, n in stored.teams.items():
            self.teams[team] = self.teams.get(team, 0) + n

    def outcome(self) -> PollOutcome:
        """What the poll read, for the source's health (:mod:`inbox.domain.source_health`)."""
        rejected = self.counts["rejected"]
        invalid = max(0, rejected - self.source_rejects)  # handed over, then refused by the inbox
        return PollOutcome(read=max(0, self.read - invalid), rejected=rejected,
                           first_reject=self.first_reject or ("invalid items" if rejected else None),
                           warnings=tuple(f"{w.stream}: {w.message}" if w.stream else w.message for w in self.warnings))

    def summary(self) -> dict[str, Any]:
        """The ingest summary of the whole poll (the shape of ``IngestResult.summary``)."""
        return {**self.counts, "teams": dict(sorted(self.teams.items()))}


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


_DONE = object()


async def run_pipelined(
    batches: AsyncGenerator[PollResult, None],
    store: Callable[[PollResult], Awaitable[IngestResult]],
    totals: PollTotals,
    *,
    ahead: int = 1,
) -> PollTotals:
    """Store every batch of ``batches`` in order with ``store`` while the next ones are fetched
    (see the module docstring); returns ``totals``."""
    handoff: asyncio.Queue[object] = asyncio.Queue(maxsize=ahead)

    async def fetch() -> None:
        try:
            async with aclosing(batches) as walk:
                async for batch in walk:
                    await handoff.put(batch)
        except Exception as exc:  # handed to the storing side, raised there after earlier batches
            await handoff.put(_Failed(exc))
            return
        await handoff.put(_DONE)

    fetcher = asyncio.create_task(fetch())
    try:
        while (item := await handoff.get()) is not _DONE:
            if isinstance(item, _Failed):
                raise item.error
            assert isinstance(item, PollResult)
            totals.add(item, await store(item))
    finally:
        if not fetcher.done():
            fetcher.cancel()
        with suppress(asyncio.CancelledError):
            await fetcher
    return totals
