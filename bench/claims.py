"""Claim + resolve throughput on PostgreSQL: N concurrent workers (agents) drain one queue through
the real WorkService (claim_next, then set_status resolved: two short transactions, each with its
audit event), on a fresh database. Prints items/s, client CPU per item and the environment.

    python bench/claims.py                      # 8 workers as asyncio tasks in one process, 4,000 items
    python bench/claims.py --mode processes     # 8 worker processes (one engine each)
    INBOX_TEST_PG=postgresql://user@host:5432/postgres python bench/claims.py --items 10000

The admin DSN (INBOX_TEST_PG, default postgresql://postgres@127.0.0.1:5432/test) is used to create
and drop a scratch database. --synchronous-commit off shows what WAL flushes cost (not a
production setting: a crash may lose the last commits)."""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_DSN = os.environ.get("INBOX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _url(dbname: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + dbname


class _Fixed:
    """Every text is customer care at 0.9: the benchmark is about claims, not the model."""

    version = "bench"
    labels = ["customer_care", "hr", "marketing", "pr"]

    def predict(self, texts: list[str]) -> list[Any]:
        from inbox.domain.types import Prediction
        return [Prediction("customer_care", 0.9, {"customer_care": 0.9, "hr": 0.0, "marketing": 0.05, "pr": 0.05})
                for _ in texts]


def _quiet() -> None:
    import logging

    import structlog
    # as inbox.ops.logs configures the service (cached loggers), only quieter
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                        cache_logger_on_first_use=True)


def _settings(url: str) -> Any:
    from inbox.settings import load_settings
    return load_settings(ROOT / "config" / "inbox.toml", {"database_url": url, "model_dir": "/tmp/si-bench-models",
                                                          "db_pool_size": 2})


async def _prepare(dbname: str, items: int, workers: int) -> dict[str, Any]:
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

    from connectors.base import Mention
    from inbox.domain.clock import SystemClock
    from inbox.ingest.classifier import ClassifierHolder
    from inbox.ops.services import Services
    from inbox.storage import migrate
    from inbox.storage.repo import accounts
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{dbname}"')
        env = {"server": await admin.fetchval("SELECT version()"),
               "synchronous_commit": await admin.fetchval("SHOW synchronous_commit"),
               "fsync": await admin.fetchval("SHOW fsync"),
               "shared_buffers": await admin.fetchval("SHOW shared_buffers")}
    finally:
        await admin.close()
    settings = _settings(_url(dbname))
    svc = await Services.open(settings, clock=SystemClock())
    try:
        await migrate.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
            for i in range(workers):
                await accounts.add_user(f"agent{i}", "agent", ["customer_care"], None, conn=conn,
                                        now=svc.clock.now(), capacity=10)
        svc.classifier = ClassifierHolder(_Fixed())
        pipe = await svc.ready_pipeline()
        for start in range(0, items, 1000):
            await pipe.ingest([Mention(source="bench", platform="bench", external_id=str(i), language="en",
                                       text=f"order {i} arrived broken, please help") for i in
                               range(start, min(items, start + 1000))])
    finally:
        await svc.close()
    env.update(await _commit_latency(_url(dbname).replace("postgresql+asyncpg://", "postgresql://")))
    return env


async def _commit_latency(dsn: str, n: int = 100) -> dict[str, float]:
    """Latency of a one-row commit right before the run: every claim and every resolve waits for one
    WAL flush, so with 8 workers the flush time, not CPU, bounds the rate when the disk is busy."""
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE bench_commit_probe (id int)")
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            await conn.execute("INSERT INTO bench_commit_probe VALUES (1)")
            lat.append(time.perf_counter() - t0)
        await conn.execute("DROP TABLE bench_commit_probe")
    finally:
        await conn.close()
    lat.sort()
    return {"commit_ms_p50": round(1000 * lat[n // 2], 2), "commit_ms_p90": round(1000 * lat[n * 9 // 10], 2)}


async def _worker(url: str, index: int, sync_commit: str, start_at: float | None = None
                  ) -> tuple[int, float, float, float]:
    from sqlalchemy import event

    from inbox.domain.clock import SystemClock
    from inbox.storage.engine import create_engine
    from inbox.storage.repo import accounts
    from inbox.work.item_actions import WorkService
    _quiet()
    settings = _settings(url)
    engine = create_engine(url, pool_size=2)
    if sync_commit != "on":
        @event.listens_for(engine.sync_engine, "connect")
        def _sc(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.run_async(lambda c: c.execute(f"SET synchronous_commit = {sync_commit}"))
    work = WorkService(engine, settings, SystemClock())
    async with engine.connect() as conn:
        user = await accounts.get_user(f"agent{index}", conn=conn)
    assert user is not None
    async with engine.connect():
        pass  # warm the pool
    if start_at is not None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
    n = 0
    t0_wall = time.time()
    cpu0 = time.process_time()  # this process's CPU: the client's cost per item, less sensitive to load
    try:
        while (item := await work.claim_next(user, "customer_care")) is not None:
            await work.set_status(user, item.id, "resolved")
            n += 1
        t1_wall = time.time()
        cpu = time.process_time() - cpu0
    finally:
        await engine.dispose()
    return n, t0_wall, t1_wall, cpu


def _process_main(url: str, index: int, sync_commit: str, start_at: float, q: Any) -> None:
    q.put(asyncio.run(_worker(url, index, sync_commit, start_at)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=4000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--mode", choices=["processes", "tasks"], default="tasks",
                    help="tasks: one process, each worker its own engine; processes: one process per worker")
    ap.add_argument("--synchronous-commit", choices=["on", "off"], default="on")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    _quiet()
    dbname = "si_bench_" + uuid.uuid4().hex[:10]
    env = asyncio.run(_prepare(dbname, args.items, args.workers))
    url = _url(dbname)
    try:
        if args.mode == "tasks":
            async def run_all() -> list[tuple[int, float, float, float]]:
                return list(await asyncio.gather(*[_worker(url, i, args.synchronous_commit)
                                                   for i in range(args.workers)]))
            cpu0 = time.process_time()
            results = asyncio.run(run_all())
            client_cpu = time.process_time() - cpu0  # one process: the tasks share it (includes start-up)
        else:
            ctx = mp.get_context("spawn")
            q = ctx.Queue()
            start_at = time.time() + 3.0  # every process starts draining at the same instant
            procs = [ctx.Process(target=_process_main, args=(url, i, args.synchronous_commit, start_at, q))
                     for i in range(args.workers)]
            for p in procs:
                p.start()
            results = [q.get(timeout=600) for _ in procs]
            for p in procs:
                p.join()
            client_cpu = sum(r[3] for r in results)
    finally:
        import asyncpg

        async def drop() -> None:
            c = await asyncpg.connect(ADMIN_DSN)
            try:
                await c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            finally:
                await c.close()
        asyncio.run(drop())
    done = sum(r[0] for r in results)
    elapsed = max(r[2] for r in results) - min(r[1] for r in results)
    import asyncpg
    import sqlalchemy
    out = {
        "benchmark": "claim + resolve through WorkService",
        "load_average_after": os.getloadavg(),
        "items": args.items,
        "done": done,
        "workers": args.workers,
        "mode": args.mode,
        "synchronous_commit": args.synchronous_commit,
        "seconds": round(elapsed, 3),
        "items_per_second": round(done / elapsed, 1) if elapsed else None,
        "per_worker": [r[0] for r in results],
        "commit_ms_p50_before": env["commit_ms_p50"],
        "commit_ms_p90_before": env["commit_ms_p90"],
        "client_cpu_seconds": round(client_cpu, 3),
        "client_cpu_ms_per_item": round(1000 * client_cpu / done, 3) if done else None,
        "environment": {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "sqlalchemy": sqlalchemy.__version__,
            "asyncpg": asyncpg.__version__,
            "postgresql": env["server"].split(" on ")[0],
            "server_synchronous_commit": env["synchronous_commit"],
            "fsync": env["fsync"],
            "shared_buffers": env["shared_buffers"],
            "same_host": "127.0.0.1" in ADMIN_DSN,
        },
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"claim+resolve: {out['items_per_second']} items/s ({done} items, {args.workers} {args.mode}, "
              f"{out['seconds']} s, synchronous_commit={args.synchronous_commit}); client CPU "
              f"{out['client_cpu_ms_per_item']} ms/item; commit p50 {env['commit_ms_p50']} ms before; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(json.dumps(out["environment"], indent=1))
    assert done == args.items, f"drained {done} of {args.items}"
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
