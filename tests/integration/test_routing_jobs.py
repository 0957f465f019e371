"""periodic_jobs: the contract for the scheduler (names, intervals, argument-less coroutines) and every
job running at once from two instances on the same database without errors or double effects."""
from __future__ import annotations

import asyncio
import inspect
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from connectors.base import Mention
from inbox.ops.jobs import periodic_jobs
from inbox.ops.services import Services
from inbox.storage.repo import accounts
from inbox.storage.tables import Event, QueueItem
from inbox.work.item_actions import WorkService

EXPECTED = {"expire_leases", "sla_breach_sweep", "auto_assign", "reassign_idle", "crisis_check",
            "notify_high_priority", "notify_unhealthy_sources", "deliver_notifications", "send_replies",
            "retention", "refine", "notify_due_soon", "notify_sla_breaches", "thread_context"}


async def test_jobs_contract_and_two_instances(services: Any) -> None:
    """The named jobs with positive intervals; two instances running all of them at once agree."""
    settings = services.settings
    teams = [t.model_dump() | ({"assignment": "round_robin", "reassign_after": "10m"} if t.name == "customer_care"
                               else {}) for t in settings.teams]
    settings = settings.model_copy(update={"teams": [type(settings.teams[0])(**t) for t in teams]})
    services.settings = settings
    now = services.clock.now()
    async with services.engine.begin() as conn:
        for n in ("ann", "bob"):
            await accounts.add_user(n, "agent", ["customer_care"], None, conn=conn, now=now, capacity=3)
    await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"c{i}", language="en",
                                            text=f"URGENT refund for broken order {i}!!!") for i in range(10)])
    other = await Services.open(settings, clock=services.clock)
    try:
        jobs = [periodic_jobs(s, WorkService(s.engine, s.settings, s.clock, owner=s.owner)) for s in (services, other)]
        assert {name for name, _, _ in jobs[0]} == EXPECTED
        for name, interval, fn in jobs[0]:
            assert interval > 0 and callable(fn) and inspect.iscoroutine(c := fn()), name
            c.close()
        services.clock.advance(timedelta(days=3))  # everything overdue, idle, expired
        for _ in range(2):
            await asyncio.gather(*[fn() for js in jobs for _, _, fn in js])
        # an instance that finds the team locked skips it for this tick: one more round fills up
        await dict((n, f) for n, _, f in jobs[1])["auto_assign"]()
    finally:
        await other.close()
    async with services.engine.connect() as conn:
        kinds = dict((await conn.execute(select(Event.__table__.c.kind, func.count())
                                         .group_by(Event.__table__.c.kind))).all())
        loads = dict((await conn.execute(select(QueueItem.__table__.c.assignee_id, func.count())
                                         .where(QueueItem.__table__.c.status == "claimed")
                                         .group_by(QueueItem.__table__.c.assignee_id))).all())
    assert kinds["sla_breach"] == 20  # 10 items x (first response + resolution), once each
    assert kinds["assigned"] >= 6 and sorted(loads.values()) == [3, 3]  # full, never over capacity
