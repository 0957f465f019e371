"""SLA due times: a duration of working time added to a start time, counting only the team's
business hours (time-zone aware, holidays skipped), or wall-clock time when the team works around
the clock. Pure functions."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from inbox.settings import BusinessHours, TeamSettings

__all__ = ["add_working_time", "due_times", "working_time_between"]


def _window(day: date, hours: BusinessHours, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    if day.weekday() not in hours.days or day.isoformat() in hours.holidays:
        return None
    sh, sm = map(int, hours.start.split(":"))
    eh, em = map(int, hours.end.split(":"))
    # zoneinfo resolves the wall-clock times to the right offset on DST-change days
    start = datetime.combine(day, time(sh, sm), tzinfo=tz)
    end = datetime.combine(day, time(eh, em), tzinfo=tz)
    return (start, end) if end > start else None


def add_working_time(start: datetime, amount: timedelta, hours: BusinessHours | None) -> datetime:
    """The instant when ``amount`` of working time has elapsed after ``start``."""
    if hours is None:
        return start + amount
    tz = ZoneInfo(hours.timezone)
    cur = start.astimezone(tz)
    remaining = amount
    for _ in range(3660):  # at most ten years of days
        win = _window(cur.date(), hours, tz)
        if win is not None:
            ws, we = win
            if cur < ws:
                cur = ws
            if cur < we:
                avail = we.astimezone(UTC) - cur.astimezone(UTC)
                if remaining <= avail:
                    return (cur.astimezone(UTC) + remaining).astimezone(UTC)
                remaining -= avail
        cur = datetime.combine(cur.date() + timedelta(days=1), time(0, 0), tzinfo=tz)
    raise ValueError("business hours leave no working time")


def working_time_between(a: datetime, b: datetime, hours: BusinessHours | None) -> timedelta:
    """Working time elapsed from ``a`` to ``b`` (zero if b <= a)."""
    if b <= a:
        return timedelta(0)
    if hours is None:
        return b - a
    tz = ZoneInfo(hours.timezone)
    total = timedelta(0)
    day = a.astimezone(tz).date()
    last = b.astimezone(tz).date()
    while day <= last:
        win = _window(day, hours, tz)
        if win is not None:
            s = max(win[0].astimezone(UTC), a.astimezone(UTC))
            e = min(win[1].astimezone(UTC), b.astimezone(UTC))
            if e > s:
                total += e - s
        day += timedelta(days=1)
    return total


def due_times(start: datetime, team: TeamSettings | None) -> tuple[datetime | None, datetime | None]:
    """(first response due, resolution due) for an item routed at ``start``."""
    if team is None:
        return None, None
    hours = team.business_hours
    return (add_working_time(start, team.sla_first_response, hours),
            add_working_time(start, team.sla_resolution, hours))
