"""Reply sender benchmark: delivery rate and queue-to-sent latency, on SQLite (default) or PostgreSQL.

- throughput: N queued replies (the five platforms in turn) delivered by the sender to a local fake
  of the platforms' write APIs (tests/replies_platform.py, on loopback, in a process of its own as
  a platform would be); replies per second from the first run to the last reply recorded as
  sent. Target: >= 200/s.
- latency when idle: replies composed one at a time at random intervals while the sender runs as in
  `serve` (a run every 0.5 s, and one started when a reply is queued); queue-to-sent is the reply's
  ``sent_at - created_at``. Target: p99 <= 2 s.
Each is run ``--runs`` times (default 3) on a fresh database; the median run is printed.

    python bench/replies.py [--n 2000] [--idle 60] [--db sqlite|postgres] [--runs 3]
"""
from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestServer  # noqa: E402
from sqlalchemy import select  # noqa: E402

from inbox.domain.types import UserInfo  # noqa: E402
from inbox.storage.repo._common import T_ITEM, T_REPLY  # noqa: E402
from inbox.work.replies import ReplyService  # noqa: E402
from inbox.work.reply_sender import ReplySender  # noqa: E402
from tests.conftest import KeywordClassifier, create_pg_database, drop_pg_database, make_settings, pg_url  # noqa: E402
from tests.replies_platform import ENV, FakePlatforms, connector_tables, parent_mentions  # noqa: E402

ADMIN = UserInfo(id=0, name="bench", role="admin", teams=())


async def _world(db: str, tmp: Path, base: str) -> tuple[Any, str | None]:
    from inbox.ingest.classifier import ClassifierHolder
    from inbox.ops.services import Services
    from inbox.storage import migrate
    from inbox.storage.repo import accounts
    pgname = await create_pg_database() if db == "postgres" else None
    url = pg_url(pgname) if pgname else f"sqlite+aiosqlite:///{tmp}/bench.db"
    settings = make_settings(url, tmp, connectors=connector_tables(base))
    # every team answers without approval here: the benchmark measures the sender
    settings.teams = [t.model_copy(update={"reply_approval": False}) for t in settings.teams]
    svc = await Services.open(settings)
    await migrate.upgrade(svc.engine)
    async with svc.engine.begin() as conn:
        await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
    svc.classifier = ClassifierHolder(KeywordClassifier())
    await svc.ready_pipeline()
    return svc, pgname


async def _items(svc: Any, n: int) -> list[int]:
    batch = [m for i in range((n + 4) // 5) for m in parent_mentions(f"-{i}")]
    await svc.pipeline.ingest(batch)
    async with svc.engine.connect() as conn:
        return [r[0] for r in await conn.execute(select(T_ITEM.c.id).order_by(T_ITEM.c.id))][:n]


async def _fake_process() -> tuple[asyncio.subprocess.Process, str]:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.replies_platform", str(port),
                                                cwd=str(ROOT))
    base = f"http://127.0.0.1:{port}"
    import aiohttp
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(base + "/_stats") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    return proc, base


async def _delivered(base: str) -> int:
    import aiohttp
    async with aiohttp.ClientSession() as http, http.get(base + "/_stats") as r:
        return sum((await r.json()).values())


async def throughput(db: str, n: int) -> float:
    proc, base = await _fake_process()
    with tempfile.TemporaryDirectory() as tmp:
        svc, pgname = await _world(db, Path(tmp), base)
        sender = ReplySender(svc, env=ENV)
        try:
            composer = ReplyService(svc.engine, svc.settings, svc.clock, env=ENV)
            for iid in await _items(svc, n):
                await composer.compose(ADMIN, iid, f"Grazie, ci pensiamo noi — {iid}")
            t0 = time.perf_counter()
            sent = 0
            while sent < n:
                sent += (await sender.run_once(limit=500))["sent"]
            rate = n / (time.perf_counter() - t0)
            assert await _delivered(base) == n, "the fake did not get one post per reply"
            return rate
        finally:
            await sender.close()
            await svc.close()
            proc.terminate()
            await proc.wait()
            if pgname:
                await drop_pg_database(pgname)


async def idle_latency(db: str, seconds: float) -> list[float]:
    fake = FakePlatforms()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    with tempfile.TemporaryDirectory() as tmp:
        svc, pgname = await _world(db, Path(tmp), str(server.make_url("")).rstrip("/"))
        sender = ReplySender(svc, env=ENV)
        stop = asyncio.Event()

        async def serve_loop() -> None:  # what serve's scheduler does: a run every 0.5 s
            while not stop.is_set():
                await sender.run_once()
                try:
                    await asyncio.wait_for(stop.wait(), 0.5)
                except TimeoutError:
                    pass
        try:
            ids = await _items(svc, int(seconds * 2) + 5)
            composer = ReplyService(svc.engine, svc.settings, svc.clock, env=ENV, kick=sender.kick)
            loop = asyncio.create_task(serve_loop())
            end = time.monotonic() + seconds
            rng = random.Random(7)
            composed = 0
            while time.monotonic() < end:
                await composer.compose(ADMIN, ids[composed], f"reply {composed}")
                composed += 1
                await asyncio.sleep(rng.uniform(0.2, 1.5))
            await asyncio.sleep(3)
            stop.set()
            await loop
            async with svc.engine.connect() as conn:
                rows = (await conn.execute(select(T_REPLY.c.created_at, T_REPLY.c.sent_at))).all()
            assert all(s is not None for _, s in rows), "a reply was not sent"
            return [(s - c).total_seconds() for c, s in rows]
        finally:
            await sender.close()
            await svc.close()
            await server.close()
            if pgname:
                await drop_pg_database(pgname)


def p99(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--idle", type=float, default=60.0, help="seconds of one-at-a-time replies")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_version()}, db={a.db}")
    rates, lats = [], []
    for i in range(a.runs):
        rates.append(await throughput(a.db, a.n))
        lat = await idle_latency(a.db, a.idle)
        lats.append((p99(lat), statistics.median(lat), len(lat)))
        print(f"run {i + 1}: {rates[-1]:.0f} replies/s; idle queue-to-sent p50 {lats[-1][1]:.2f} s, "
              f"p99 {lats[-1][0]:.2f} s over {lats[-1][2]} replies", flush=True)
    mid = sorted(lats)[len(lats) // 2]
    print(f"median of {a.runs}: {statistics.median(rates):.0f} replies/s (target >= 200); "
          f"idle p99 {mid[0]:.2f} s, p50 {mid[1]:.2f} s (target p99 <= 2 s)")


if __name__ == "__main__":
    asyncio.run(main())
