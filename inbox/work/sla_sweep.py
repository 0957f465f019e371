"""The SLA breach sweep: finds open items past their first-response or resolution due time, records
each breach ONCE (a conditional update of the item's breached_* flag plus one ``sla_breach``
event, in one transaction) and escalates: the item's priority goes up by one, the team's leads are
named in the event, and when the team has ``return_on_breach`` a claimed item goes back to the
queue. Safe with several instances on one database: the flag flip is the lock (see
inbox.storage.repo.sla_breaches.mark_breaches).

Webhooks and e-mail hear of breaches in batches (:func:`notify_batches`, a periodic job): one
message per team per minute listing that minute's breaches (inbox.domain.breach_batch), queued in
the outbox under a key unique per team and minute, so once however many instances run the job."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog

from inbox.domain.breach_batch import Breach, batches
from inbox.storage.repo import items
from inbox.storage.repo import sla_breaches as srepo
from inbox.work import notifier

__all__ = ["sweep", "notify_batches"]

log = structlog.get_logger(__name__)


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
            await items.insert_events(events, conn=conn)
        counts[kind] = len(rows)
        counts["returned"] += len(returned)
        changed.extend(r["id"] for r in rows)
    if changed:
        log.info("sla_breach_sweep", **counts)
        if publish is not None:
            publish(sorted(set(changed)))
    return counts


async def notify_batches(svc: Any, *, lookback: timedelta = timedelta(minutes=15)) -> int:
    """Queue one webhook / e-mail message per team for each minute of the last ``lookback`` that
    is over and had breaches; a minute already queued is skipped (its key). Returns how many
    messages were queued."""
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        found = batches([Breach.of_event(e) for e in await srepo.breach_events(now - lookback, conn=conn)
                         if e["item_id"] is not None and e["team"]], now)
        n = 0
        for b in found:
            n += await notifier.enqueue(conn, svc.settings, now, kind="sla_breach", key=b.key, text=b.text(),
                                        fields=b.fields())
    if n:
        log.info("sla_breach_batches_enqueued", count=n, teams=sorted({b.team for b in found}))
    return n
