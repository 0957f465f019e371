"""The SLA breach sweep: finds open items past their first-response or resolution due time, records
each breach ONCE (a conditional update of the item's breached_* flag plus one ``sla_breach``
event, in one transaction) and escalates: the item's priority goes up by one, the team's leads are
named in the event and notified (webhooks / e-mail through the outbox), and when the team has
``return_on_breach`` a claimed item goes back to the queue. Safe with several instances on one
database: the flag flip is the lock (see inbox.storage.repo.sla_breaches.mark_breaches)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from inbox.storage.repo import items
from inbox.storage.repo import sla_breaches as srepo
from inbox.work import notifier

__all__ = ["sweep"]

log = structlog.get_logger(__name__)

_LABEL = {"first_response": "first response", "resolution": "resolution"}


async def sweep(svc: Any, *, publish: Callable[[list[int]], Any] | None = None,
                limit: int = 500) -> dict[str, int]:
    """One pass over both SLAs; returns counts of breaches recorded and items returned to queues."""
    settings = svc.settings
    now = svc.clock.now()
    counts = {"first_response": 0, "resolution": 0, "returned": 0}
    changed: list[int] = []
    kinds: tuple[srepo.Kind, ...] = ("first_response", "resolution")
    for kind in kinds:
        async with svc.engine.begin() as conn:
            rows = await srepo.mark_breaches(kind, conn=conn, now=now, limit=limit)
            if not rows:
                continue
            leads = await srepo.leads_of(sorted({r["team"] for r in rows}), conn=conn)
            to_return = [r["id"] for r in rows if r["status"] == "claimed"
                         and (t := settings.team(r["team"])) is not None and t.return_on_breach]
            returned = set(await srepo.return_to_queue(to_return, conn=conn, now=now))
            events = []
            for r in rows:
                data = {
                    "sla": kind,
                    "due": r["due"].isoformat(),
                    "overdue_seconds": round((now - r["due"]).total_seconds()),
                    "priority": {"from": r["old_priority"], "to": r["priority"]},
                    "leads": leads.get(r["team"], []),
                    "returned_to_queue": r["id"] in returned,
                }
                events.append({"item_id": r["id"], "kind": "sla_breach", "actor": "system", "team": r["team"],
                               "data": data, "created_at": now})
                team_leads = leads.get(r["team"], [])
                text = (f":rotating_light: SLA breach ({_LABEL[kind]}) on item #{r['id']} in {r['team']}: "
                        f"due {r['due'].isoformat(timespec='minutes')}, priority raised to {r['priority']}"
                        + (", returned to the queue" if r["id"] in returned else "")
                        + (f". Leads: {', '.join('@' + n for n in team_leads)}" if team_leads else ""))
                await notifier.enqueue(conn, settings, now, kind="sla_breach", key=f"sla_breach:{kind}:{r['id']}",
                                     text=text, item_id=r["id"],
                                     fields={"team": r["team"], "sla": kind, "leads": ", ".join(team_leads) or "-"})
            await items.insert_events(events, conn=conn)
        counts[kind] = len(rows)
        counts["returned"] += len(returned)
        changed.extend(r["id"] for r in rows)
    if changed:
        log.info("sla_breach_sweep", **counts)
        if publish is not None:
            publish(sorted(set(changed)))
    return counts
