"""running_deadline: the first response until the item is touched, then the resolution, then none."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox.domain.deadlines import running_deadline
from inbox.domain.types import ItemSummary

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _item(status: str = "new", **extra: object) -> ItemSummary:
    return ItemSummary(id=1, team="customer_care", status=status, priority=1, label=None, confidence=None,
                       watchers=[], assignee=None, text="t", source="s", author=None, lang="en", url=None,
                       created_at=T0, routed_at=T0, first_response_due=T0 + timedelta(hours=1),
                       resolve_due=T0 + timedelta(days=1), extra=dict(extra))


def test_untouched_item_runs_its_first_response() -> None:
    assert running_deadline(_item()) == ("first_response", T0 + timedelta(hours=1))


def test_touched_item_runs_its_resolution() -> None:
    assert running_deadline(_item("claimed", first_touched_at=T0)) == ("resolution", T0 + timedelta(days=1))
    assert running_deadline(_item("waiting", first_touched_at=T0)) == ("resolution", T0 + timedelta(days=1))


def test_closed_item_runs_nothing() -> None:
    assert running_deadline(_item("resolved", first_touched_at=T0, resolved_at=T0)) is None
    assert running_deadline(_item("spam")) is None
    assert running_deadline(_item("new", resolved_at=T0)) is None  # reopened rows keep resolved_at cleared


def test_no_due_time_runs_nothing() -> None:
    item = _item()
    item.first_response_due = None
    assert running_deadline(item) is None
