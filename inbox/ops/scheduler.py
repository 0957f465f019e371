"""The connector scheduler: APScheduler 3.x, one interval job per connector (max_instances=1,
coalesce=True), plus the periodic maintenance jobs of inbox.ops.jobs. Leases in the database make
several instances safe together; nothing here is needed for correctness but timing."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from inbox.ingest.poll import Poller
from inbox.ops.jobs import EXCLUSIVE, periodic_jobs
from inbox.ops.services import Services
from inbox.storage.job_locks import run_exclusively
from inbox.work.item_actions import WorkService

__all__ = ["InboxScheduler", "start_scheduler", "scheduled_jobs", "Job"]

log = structlog.get_logger(__name__)


Job = tuple[str, float, Callable[[], Awaitable[Any]]]


class InboxScheduler:
    def __init__(self, svc: Services, work: WorkService, extra: Sequence[Job] = ()) -> None:
        self.svc = svc
        self.work = work
        self.extra = list(extra)  # jobs of the layers above (the briefs' delivery renders in the web layer)
        self.sched = AsyncIOScheduler(job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 60})
        self.poller = Poller(svc)
        self._polled: dict[str, Any] = {}  # job id -> the connector settings it polls

    async def start(self) -> None:
        if self.svc.settings.refiner.enabled:  # before the site listens: the import stalls the loop
            from inbox.ingest.second_look import import_encoder_libraries
            await asyncio.to_thread(import_encoder_libraries)
        await self.poller.__aenter__()
        self.sync_connectors(self.svc.settings)
        self.svc.settings_listeners.append(self.sync_connectors)  # connectors edited live (admin API)
        for name, every, job in scheduled_jobs(self.svc, self.work, self.extra):
            self.sched.add_job(job, IntervalTrigger(seconds=every), id=name, name=name)
        self.sched.start()
        log.info("scheduler_started", jobs=[j.id for j in self.sched.get_jobs()])

    def sync_connectors(self, settings: Any) -> None:
        """One poll job per enabled connector of ``settings``: jobs of removed or changed connectors
        are replaced, new ones added (a connector edited in the app is polled without a restart)."""
        wanted = {f"poll:{c.name}": c for c in settings.connectors
                  if c.type != "webhook" and getattr(c, "enabled", True)}
        for job_id, cfg in list(self._polled.items()):
            if wanted.get(job_id) != cfg:
                self.sched.remove_job(job_id)
                del self._polled[job_id]
        for job_id, cfg in wanted.items():
            if job_id in self._polled:
                continue
            secs = max(1.0, cfg.interval.total_seconds())

            async def run(cfg: Any = cfg) -> None:
                await self.poller.poll(cfg, due_only=True)

            # jitter spreads instances' attempts; the database lease decides who polls
            self.sched.add_job(
                run,
                IntervalTrigger(seconds=secs, jitter=min(30, secs / 10)),
                id=job_id,
                name=f"poll {cfg.name}",
                next_run_time=self.svc.clock.now() + timedelta(seconds=random.uniform(0, 2)),
            )
            self._polled[job_id] = cfg

    async def stop(self) -> None:
        if self.sync_connectors in self.svc.settings_listeners:
            self.svc.settings_listeners.remove(self.sync_connectors)
        self.sched.shutdown(wait=False)
        await self.poller.__aexit__(None, None, None)


def scheduled_jobs(svc: Services, work: WorkService, extra: Sequence[Job] = ()) -> list[Job]:
    """The periodic jobs as the scheduler runs them: errors logged, the EXCLUSIVE ones on one
    instance at a time."""
    out: list[Job] = []
    for name, every, fn in [*periodic_jobs(svc, work), *extra]:
        job = partial(run_exclusively, svc.engine, name, fn) if name in EXCLUSIVE else fn
        out.append((name, every, _safe(name, job)))
    return out


def _safe(name: str, fn: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await fn()
        except Exception:  # a maintenance job failing must not kill the scheduler
            log.exception("job_failed", job=name)
    return run


async def start_scheduler(svc: Services, work: WorkService, extra: Sequence[Job] = ()) -> InboxScheduler:
    s = InboxScheduler(svc, work, extra)
    await s.start()
    return s
