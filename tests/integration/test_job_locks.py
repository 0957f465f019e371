"""Jobs that run once at a time: with two instances on one PostgreSQL, the scheduler's SLA sweep,
auto-assignment, reassignment and crisis check run on one instance while the other skips them
(an advisory lock per job, inbox.storage.job_locks); a lock ends with its run."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from inbox.ops.jobs import EXCLUSIVE, periodic_jobs
from inbox.ops.scheduler import scheduled_jobs
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.job_locks import lock_key, run_exclusively
from inbox.work.item_actions import WorkService

pytestmark = pytest.mark.postgres


@pytest.fixture
async def two(pg_db_url: str, settings_factory: Any, clock: Any) -> AsyncIterator[tuple[Services, Services]]:
    a = await Services.open(settings_factory(pg_db_url), clock=clock)
    b = await Services.open(settings_factory(pg_db_url), clock=clock)
    await migrate.upgrade(a.engine)
    yield a, b
    await a.close()
    await b.close()


async def test_a_job_running_on_one_instance_is_skipped_on_the_other(two: tuple[Services, Services]) -> None:
    a, b = two
    running, finish = asyncio.Event(), asyncio.Event()
    ran: list[str] = []

    async def slow() -> None:
        ran.append("a")
        running.set()
        await finish.wait()

    async def quick() -> None:
        ran.append("b")

    first = asyncio.create_task(run_exclusively(a.engine, "sla_breach_sweep", slow))
    await asyncio.wait_for(running.wait(), 10)
    assert await run_exclusively(b.engine, "sla_breach_sweep", quick) is False
    assert await run_exclusively(b.engine, "auto_assign", quick) is True  # another job's lock is another lock
    finish.set()
    assert await first is True
    assert await run_exclusively(b.engine, "sla_breach_sweep", quick) is True  # released with its run
    assert ran == ["a", "b", "b"]


async def test_the_lock_ends_with_a_failed_run_and_with_the_session(two: tuple[Services, Services]) -> None:
    a, b = two

    async def fail() -> None:
        raise RuntimeError("job failed")

    with pytest.raises(RuntimeError):
        await run_exclusively(a.engine, "crisis_check", fail)

    async def nothing() -> None:
        return None

    assert await run_exclusively(b.engine, "crisis_check", nothing) is True
    # an instance that dies holding the lock: its session ends, and so does the lock
    raw = await a.engine.raw_connection()
    await raw.driver_connection.execute("SELECT pg_advisory_lock($1)", lock_key("crisis_check"))
    assert await run_exclusively(b.engine, "crisis_check", nothing) is False
    raw.invalidate()  # the connection is closed, as a crashed process's would be
    for _ in range(100):
        if await run_exclusively(b.engine, "crisis_check", nothing):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the lock outlived its session")


async def test_the_scheduler_runs_the_sweeps_assignment_and_crisis_check_exclusively(
        two: tuple[Services, Services]) -> None:
    a, b = two
    names = {name for name, _, _ in periodic_jobs(a, WorkService(a.engine, a.settings, a.clock))}
    assert {"sla_breach_sweep", "auto_assign", "reassign_idle", "crisis_check"} <= EXCLUSIVE <= names
    jobs = {name: job for name, _, job in scheduled_jobs(b, WorkService(b.engine, b.settings, b.clock))}
    raw = await a.engine.raw_connection()  # instance a is running all four
    try:
        for name in EXCLUSIVE:
            await raw.driver_connection.execute("SELECT pg_advisory_lock($1)", lock_key(name))
        with capture_logs() as logs:
            for name in sorted(EXCLUSIVE):
                await jobs[name]()
            await jobs["expire_leases"]()  # not exclusive: runs on every instance
    finally:
        raw.invalidate()
    skipped = sorted(e["job"] for e in logs if e["event"] == "job_skipped_running_elsewhere")
    assert skipped == sorted(EXCLUSIVE)
    assert not [e for e in logs if e["event"] == "job_failed"]
