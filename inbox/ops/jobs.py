"""The periodic jobs of `serve`: (name, interval in seconds, coroutine function) for the scheduler.

Every job takes its time from ``svc.clock`` and is safe with several instances on one PostgreSQL.
The jobs in EXCLUSIVE run on one instance at a time (an advisory lock, inbox.storage.job_locks);
the others may run everywhere at once:
- lease expiry: one conditional UPDATE (status claimed AND lease expired);
- SLA breach sweep: flips breached_* flags with a conditional UPDATE, candidates SKIP LOCKED;
- auto-assignment and reassignment: a per-team row lock taken with SKIP LOCKED, agents and items
  locked with SKIP LOCKED, round-robin position stored in the database;
- crisis check: a partial unique index allows one open crisis per subject (INSERT ... ON CONFLICT
  DO NOTHING);
- high-priority notifications: a unique dedupe key per event and target;
- SLA breach batches (one message per team per minute): a unique dedupe key per team, minute and target;
- SLA-due-soon notifications for people: a unique (user, key) per item, SLA and due time;
- notification delivery: short leases on outbox rows taken with SKIP LOCKED;
- reply delivery (inbox.work.reply_sender): the same, with a ``sending`` state that makes a reply
  whose sender died be looked up on the platform before it is sent again;
- thread context (inbox.ingest.thread_context): inserts that skip keys already stored (ON CONFLICT
  DO NOTHING), run on one instance at a time so two do not ask the platforms for the same posts;
- retention: conditional UPDATEs of closed items that still hold text (a second instance finds none);
- the refiner: candidates taken by marking them (UPDATE ... RETURNING, SKIP LOCKED on PostgreSQL), the
  refined routing written only if nobody touched the item meanwhile.
No job keeps process-local state that matters for correctness.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from inbox.ingest import thread_context
from inbox.work import auto_assign, crisis_watch, notifier, people_notify, retention, sla_sweep

__all__ = ["periodic_jobs", "EXCLUSIVE"]

# jobs that scan and rewrite the same rows on every instance: one at a time is enough, and two at
# once would only contend for the same locks
EXCLUSIVE = frozenset({"sla_breach_sweep", "auto_assign", "reassign_idle", "crisis_check", "thread_context"})


def periodic_jobs(svc: Any, work: Any) -> list[tuple[str, float, Callable[[], Awaitable[Any]]]]:
    publish = getattr(work, "publish", None)
    return [
        ("expire_leases", 30.0, work.expire_leases),
        ("sla_breach_sweep", 60.0, partial(sla_sweep.sweep, svc, publish=publish)),
        ("notify_sla_breaches", 15.0, partial(sla_sweep.notify_batches, svc)),
        ("auto_assign", 15.0, partial(auto_assign.auto_assign, svc, publish=publish)),
        ("reassign_idle", 60.0, partial(auto_assign.reassign_idle, svc, publish=publish)),
        ("crisis_check", 120.0, partial(crisis_watch.check_crises, svc, publish=publish)),
        ("notify_due_soon", 60.0, partial(people_notify.notify_due_soon, svc, publish=publish)),
        ("notify_high_priority", 30.0, partial(notifier.enqueue_high_priority, svc)),
        ("notify_unhealthy_sources", 60.0, partial(notifier.enqueue_unhealthy_sources, svc)),
        ("deliver_notifications", 10.0, partial(notifier.deliver_due, svc)),
        ("retention", 3600.0, partial(retention.run_retention, svc)),
        ("thread_context", thread_context.INTERVAL, partial(thread_context.fetch_thread_context, svc)),
        ("send_replies", 0.5, svc.ready_reply_sender().run_once),
        *([("refine", max(1.0, svc.settings.refiner.interval.total_seconds()), partial(_refine, svc))]
          if svc.settings.refiner.enabled else []),
    ]


async def _refine(svc: Any) -> Any:
    refiner = await svc.ready_refiner()
    return await refiner.run_once()
