"""SLA breaches told to webhooks and e-mail in batches: one message per team per minute (pure).

The breach sweep records each breach as an ``sla_breach`` event; :func:`batches` groups the
events of minutes that are over (``grace`` after the minute's end, so a sweep committing just
after the minute turned is still counted in its minute) by team and minute. Each batch has a key
unique for its team and minute, so it is queued once however often and on however many
instances the batching job runs."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Breach", "Batch", "minute_of", "batches", "GRACE", "SHOWN"]

GRACE = timedelta(seconds=10)
SHOWN = 20  # items listed in one message; the rest are counted
_SLA = {"first_response": "first response", "resolution": "resolution"}


@dataclass(frozen=True, slots=True)
class Breach:
    item_id: int
    team: str
    sla: str
    due: str
    priority: int
    returned: bool
    leads: tuple[str, ...]
    at: datetime

    @classmethod
    def of_event(cls, e: Mapping[str, Any]) -> Breach:
        """From an ``sla_breach`` event (item_id, team, data, created_at)."""
        d = e.get("data") or {}
        return cls(int(e["item_id"]), str(e["team"]), str(d.get("sla", "")), str(d.get("due", "")),
                   int((d.get("priority") or {}).get("to", 0)), bool(d.get("returned_to_queue")),
                   tuple(d.get("leads") or ()), e["created_at"])


def minute_of(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Batch:
    team: str
    minute: datetime
    breaches: tuple[Breach, ...]

    @property
    def key(self) -> str:
        return f"sla_breach:{self.team}:{self.minute.strftime('%Y-%m-%dT%H:%MZ')}"

    @property
    def leads(self) -> list[str]:
        return sorted({n for b in self.breaches for n in b.leads})

    def text(self) -> str:
        """The message: how many, which items (the first :data:`SHOWN`), and the team's leads."""
        n = len(self.breaches)
        head = (f":rotating_light: {n} SLA breach{'es' if n != 1 else ''} in {self.team} "
                f"at {self.minute.strftime('%H:%M')} UTC")
        lines = [f"• #{b.item_id} {_SLA.get(b.sla, b.sla)}, due {b.due[:16].replace('T', ' ')}, "
                 f"priority raised to {b.priority}" + (", returned to the queue" if b.returned else "")
                 for b in self.breaches[:SHOWN]]
        if n > SHOWN:
            lines.append(f"… and {n - SHOWN} more")
        leads = self.leads
        return "\n".join([head, *lines] + ([f"Leads: {', '.join('@' + x for x in leads)}"] if leads else []))

    def fields(self) -> dict[str, str]:
        return {"team": self.team, "breaches": str(len(self.breaches)), "leads": ", ".join(self.leads) or "-"}


def batches(breaches: Iterable[Breach], now: datetime, grace: timedelta = GRACE) -> list[Batch]:
    """The breaches of minutes over by ``now`` (plus ``grace``), one batch per team and minute,
    oldest first; the breaches of the current minute wait for the next call."""
    groups: dict[tuple[str, datetime], list[Breach]] = {}
    for b in breaches:
        minute = minute_of(b.at)
        if minute + timedelta(minutes=1) + grace <= now:
            groups.setdefault((b.team, minute), []).append(b)
    return [Batch(team, minute, tuple(sorted(bs, key=lambda b: (b.item_id, b.sla))))
            for (team, minute), bs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
