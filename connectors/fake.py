"""In-memory twins for tests: :class:`FakeConnector` (deterministic pages) and :class:`FakeClock`.

``FakeConnector`` honours the same contract as the real connectors: ``poll(cursor)`` returns the
mentions after ``cursor`` and the cursor to store after committing them; polling again with the
returned cursor gives the next page, polling with an old cursor repeats (at-least-once), and a
failure planned for a call raises without returning anything::

    fake = FakeConnector("fake", pages=[[make_mention("1"), make_mention("2")], [make_mention("3")]])
    first = await fake.poll(None)            # ids 1, 2; cursor {"page": 1}
    again = await fake.poll(first.cursor)    # id 3;    cursor {"page": 2}
    empty = await fake.poll(again.cursor)    # nothing; cursor {"page": 2}
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .base import Mention, PollResult, Reject

__all__ = ["FakeClock", "FakeConnector", "make_mention"]


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)


def make_mention(external_id: str, text: str | None = None, *, source: str = "fake", **fields: Any) -> Mention:
    """A valid mention with sensible defaults (platform ``fake``, created 2026-01-01)."""
    defaults: dict[str, Any] = {
        "platform": "fake",
        "url": f"https://fake.example/{external_id}",
        "author_handle": "someone",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "raw": {"id": external_id},
    }
    defaults.update(fields)
    return Mention(source=source, external_id=external_id, text=text or f"mention {external_id}", **defaults)


class FakeConnector:
    """Deterministic pages of mentions; cursor ``{"page": n}``; optional planned failures."""

    type: ClassVar[str] = "fake"

    def __init__(
        self,
        name: str = "fake",
        pages: Sequence[Sequence[Mention]] = (),
        *,
        rejects: Mapping[int, Sequence[Reject]] | None = None,
        failures: Mapping[int, BaseException] | None = None,
    ) -> None:
        self.name = name
        self.pages: list[list[Mention]] = [[replace(m, source=name) for m in page] for page in pages]
        self.rejects = {k: list(v) for k, v in (rejects or {}).items()}
        self.failures = dict(failures or {})
        self.calls = 0
        self.cursors: list[dict[str, Any] | None] = []

    def add_page(self, mentions: Sequence[Mention]) -> None:
        """Make new items appear for the next poll."""
        self.pages.append([replace(m, source=self.name) for m in mentions])

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        """Return the page after ``cursor`` (or raise the failure planned for this call number)."""
        call = self.calls
        self.calls += 1
        self.cursors.append(cursor)
        if call in self.failures:
            raise self.failures[call]
        page = int((cursor or {}).get("page", 0))
        if page < len(self.pages):
            return PollResult(
                mentions=list(self.pages[page]), cursor={"page": page + 1},
                rejects=list(self.rejects.get(page, [])), requests=1, pages=1,
            )
        return PollResult(mentions=[], cursor={"page": page}, requests=1, pages=1)
