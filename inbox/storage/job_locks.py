"""Jobs that must run on one instance at a time (the SLA sweep, auto-assignment, reassignment, the
crisis check) hold a PostgreSQL advisory lock named after the job while they run; an instance
whose scheduler fires the job meanwhile skips that run. The lock is a session lock on a connection
of the engine's pool, so it ends with the run, or with the session if the instance dies.

On SQLite the service is one instance on one machine: the job simply runs (SQLite's single
writer serialises any other process's writes)."""
from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.storage.engine import autocommit

__all__ = ["lock_key", "run_exclusively"]

log = structlog.get_logger(__name__)


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for a job name (stable across instances and releases)."""
    return int.from_bytes(hashlib.sha256(f"inbox-job:{name}".encode()).digest()[:8], "big", signed=True)


async def run_exclusively(engine: AsyncEngine, name: str, fn: Callable[[], Awaitable[Any]]) -> bool:
    """Run ``fn`` unless another instance is running the job ``name``: True when it ran, False
    when it was skipped."""
    if engine.dialect.name != "postgresql":
        await fn()
        return True
    key = lock_key(name)
    async with autocommit(engine).connect() as conn:
        got = (await conn.execute(select(func.pg_try_advisory_lock(key)))).scalar_one()
        if not got:
            log.info("job_skipped_running_elsewhere", job=name)
            return False
        try:
            await fn()
        finally:
            await conn.execute(select(func.pg_advisory_unlock(key)))
    return True
