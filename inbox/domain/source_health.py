"""Whether a source that polls without failing is healthy: what its polls read, not only whether
the requests succeeded.

A poll that reads nothing at all (a feed unchanged, a search with no new posts) says nothing new:
the verdict of the last poll that did read something stands. Otherwise the source is unhealthy
when that poll understood no item but dead-lettered some (a feed that only gives parse errors, an
API whose every item is rejected), or produced nothing but warnings; it is healthy as soon as a
poll reads items again. Warnings are shown either way: a source can be healthy and still warn
(a feed recovered by the lenient parser, a charset that had to be detected).
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PollOutcome", "verdict"]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll of a source gave. ``read``: items understood (new or already stored);
    ``rejected``: items dead-lettered (the connector's and the inbox's rejects);
    ``first_reject``: the reason of one of them; ``warnings``: the poll's warning messages."""

    read: int
    rejected: int
    first_reject: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def quiet(self) -> bool:
        return not (self.read or self.rejected or self.warnings)


def verdict(outcome: PollOutcome, previous_reason: str | None) -> str | None:
    """The reason the source is unhealthy after ``outcome`` (None: healthy)."""
    if outcome.quiet:
        return previous_reason
    if outcome.read:
        return None
    if outcome.rejected:
        detail = f": {outcome.first_reject}" if outcome.first_reject else ""
        return (f"the last poll read no item and dead-lettered {outcome.rejected}"[:300] + detail)[:500]
    return f"the last poll read no item, only warnings: {outcome.warnings[0]}"[:500]
