"""Which of an item's deadlines is still running, as the SLA sweep sees them: the first response
until somebody touches the item (claims it or answers it: what stops the first-response clock), then
the resolution; none once it is resolved or marked spam. Pages show this one instead of a
first-response countdown that would keep running after the answer went out."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from inbox.domain.types import ItemSummary, QueueRow

__all__ = ["Deadline", "running_deadline"]

Deadline = tuple[Literal["first_response", "resolution"], datetime]
_CLOSED = ("resolved", "spam")


def running_deadline(item: ItemSummary | QueueRow) -> Deadline | None:
    """``(kind, due)`` of the deadline that still runs for ``item``, or None."""
    if item.status in _CLOSED or item.extra.get("resolved_at") is not None:
        return None
    if item.extra.get("first_touched_at") is None:
        return ("first_response", item.first_response_due) if item.first_response_due else None
    return ("resolution", item.resolve_due) if item.resolve_due else None
