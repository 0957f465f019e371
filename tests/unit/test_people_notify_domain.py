"""Who is told what (inbox.domain.people_notify): handles in notes, visibility, preferences, SLA due soon."""
from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.domain import people_notify as pn
from inbox.domain.clock import FakeClock


def test_mentioned_names_skip_emails_and_repeat() -> None:
    assert pn.mentioned_names("@Ann please ask @bob.x, cc ann@example.org and @ann again.") == ["ann", "bob.x"]
    assert pn.mentioned_names("no handles here") == []


def test_prefs_round_trip_and_validation() -> None:
    p = pn.parse_prefs({"kinds": ["mentioned", "assigned"], "browser": True})
    assert pn.Prefs.from_json(p.to_json()) == p and p.as_dict()["kinds"] == ["assigned", "mentioned"]
    assert pn.Prefs.from_json(None) == pn.Prefs() and pn.Prefs.from_json("{broken") == pn.Prefs()
    for bad, why in (({"kinds": ["everything"]}, "unknown kind"), ({"browser": "yes"}, "true or false"),
                     ({"colour": 1}, "unknown setting"), ([], "object")):
        with pytest.raises(ValueError, match=why):
            pn.parse_prefs(bad)


def test_deliverable_respects_private_teams_watchers_and_kinds() -> None:
    now = FakeClock().now()
    care = pn.Recipient(1, "ann", "agent", ("customer_care",))
    hr = pn.Recipient(2, "hri", "agent", ("hr",))
    muted = pn.Recipient(3, "bob", "agent", ("customer_care",), pn.Prefs(frozenset({"assigned"})))
    people = {p.id: p for p in (care, hr, muted)}
    drafts = pn.mentioned(7, [care, hr, muted], "lea", "hi @ann @hri @bob", now)
    assert [d.user_id for d in pn.deliverable(drafts, people, "customer_care", [], ["hr"])] == [1]
    # an HR item: only HR is told, even when customer care watches it
    assert [d.user_id for d in pn.deliverable(drafts, people, "hr", ["customer_care"], ["hr"])] == [2]
    # a watcher of a team that is not private is told
    assert [d.user_id for d in pn.deliverable(drafts, people, "marketing", ["hr"], ["hr"])] == [2]
    assert pn.assigned(7, care, "ann", now) == [] and len(pn.assigned(7, care, "lea", now)) == 1
    assert pn.mentioned(7, [care], "ann", "note to @ann", now) == []


def test_due_soon_window_with_a_fake_clock() -> None:
    clock = FakeClock()
    due = clock.now() + timedelta(minutes=20)
    rows = [{"id": 5, "assignee_id": 1, "sla": "first_response", "due": due},
            {"id": 6, "assignee_id": None, "sla": "first_response", "due": due}]
    assert pn.due_soon(rows, clock.now()) == []
    clock.advance(timedelta(minutes=5))
    (d,) = pn.due_soon(rows, clock.now())
    assert (d.user_id, d.item_id, d.kind, d.data["sla"]) == (1, 5, "sla_due", "first_response")
    clock.advance(timedelta(minutes=15, seconds=1))
    assert pn.due_soon(rows, clock.now()) == []  # past due: the breach sweep's business
