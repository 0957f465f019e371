"""SLA due times with business hours across a weekend, a holiday and daylight-saving changes."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox.domain.sla_calendar import add_working_time, due_times, working_time_between
from inbox.settings import BusinessHours, TeamSettings

ROME = BusinessHours(timezone="Europe/Rome", days=[0, 1, 2, 3, 4], start="09:00", end="18:00",
                     holidays=["2026-12-25"])


def test_around_the_clock_is_wall_time() -> None:
    """Without business hours the due time is start plus the target."""
    t = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    assert add_working_time(t, timedelta(hours=4), None) == t + timedelta(hours=4)


def test_friday_evening_rolls_over_the_weekend() -> None:
    """Friday 17:00 Rome + 2 working hours = Monday 10:00 Rome."""
    start = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)  # Fri 17:00 CET
    due = add_working_time(start, timedelta(hours=2), ROME)
    assert due == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # Mon 10:00 CET


def test_dst_change_weekend() -> None:
    """Across the March DST switch the Monday window starts at 09:00 CEST = 07:00 UTC."""
    start = datetime(2026, 3, 27, 16, 30, tzinfo=UTC)  # Fri 17:30 CET; Sun 29 March clocks go forward
    due = add_working_time(start, timedelta(hours=1), ROME)
    assert due == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # Mon 09:30 CEST


def test_autumn_dst_and_holiday() -> None:
    """After the October change the offset is +1 again; Christmas is skipped."""
    start = datetime(2026, 10, 23, 15, 0, tzinfo=UTC)  # Fri 17:00 CEST; 25 Oct back to CET
    assert add_working_time(start, timedelta(hours=2), ROME) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    xmas_eve = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)  # Thu 17:00 CET
    assert add_working_time(xmas_eve, timedelta(hours=2), ROME) == datetime(2026, 12, 28, 9, 0, tzinfo=UTC)


def test_start_before_opening_counts_from_opening() -> None:
    """A mention at 06:00 starts its SLA at 09:00."""
    start = datetime(2026, 3, 4, 5, 0, tzinfo=UTC)  # Wed 06:00 CET
    assert add_working_time(start, timedelta(minutes=30), ROME) == datetime(2026, 3, 4, 8, 30, tzinfo=UTC)


def test_working_time_between_skips_nights_and_weekends() -> None:
    """From Friday 17:00 to Monday 10:00 Rome there are 2 working hours."""
    a = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    b = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert working_time_between(a, b, ROME) == timedelta(hours=2)


def test_due_times_for_a_team() -> None:
    """A team's first-response and resolution targets both use its business hours."""
    team = TeamSettings(name="customer_care", sla_first_response="1h", sla_resolution="9h", business_hours=ROME)
    first, resolve = due_times(datetime(2026, 3, 6, 16, 0, tzinfo=UTC), team)
    assert first == datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    assert resolve == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
