"""Breach batches (inbox.domain.breach_batch): grouped per team and minute, only minutes that are over."""
from __future__ import annotations

from datetime import datetime, timedelta

from inbox.domain.breach_batch import GRACE, SHOWN, Breach, batches
from inbox.domain.clock import FakeClock


def _b(item: int, team: str, at: datetime) -> Breach:
    return Breach(item, team, "first_response", "2026-01-05T08:59:00+00:00", 2, item % 2 == 0, ("lea",), at)


def test_grouped_per_team_and_minute_once_the_minute_is_over() -> None:
    clock = FakeClock()  # 09:00:00
    t0 = clock.now()
    found = [_b(1, "care", t0 + timedelta(seconds=5)), _b(2, "care", t0 + timedelta(seconds=55)),
             _b(3, "mkt", t0 + timedelta(seconds=30)), _b(4, "care", t0 + timedelta(seconds=61))]
    assert batches(found, t0 + timedelta(seconds=60)) == []
    assert batches(found, t0 + timedelta(seconds=60) + GRACE - timedelta(microseconds=1)) == []
    got = batches(found, t0 + timedelta(seconds=60) + GRACE)
    assert [(b.team, [x.item_id for x in b.breaches]) for b in got] == [("care", [1, 2]), ("mkt", [3])]
    assert got[0].key == "sla_breach:care:2026-01-05T09:00Z" and got[0].leads == ["lea"]
    text = got[0].text()
    assert text.splitlines()[0] == ":rotating_light: 2 SLA breaches in care at 09:00 UTC"
    assert "• #2 first response, due 2026-01-05 08:59, priority raised to 2, returned to the queue" in text
    later = batches(found, t0 + timedelta(minutes=3))
    assert [(b.team, b.minute.minute) for b in later] == [("care", 0), ("mkt", 0), ("care", 1)]


def test_a_long_batch_lists_the_first_items_and_counts_the_rest() -> None:
    t0 = FakeClock().now()
    (b,) = batches([_b(i, "care", t0) for i in range(SHOWN + 14)], t0 + timedelta(minutes=5))
    lines = b.text().splitlines()
    assert len([x for x in lines if x.startswith("• #")]) == SHOWN and "… and 14 more" in lines
    assert b.fields() == {"team": "care", "breaches": str(SHOWN + 14), "leads": "lea"}
