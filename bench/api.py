"""API/web load benchmark: N stored mentions, ingest running at --ingest-rate mentions/s, and an
open-loop load of --rate requests/s (70% queue pages, 20% item pages, 10% claim/resolve) against
ONE server process. Prints p50/p99 latency (measured from each request's scheduled start, so a
slow server cannot hide its queueing) and errors, on SQLite and on PostgreSQL.

    python bench/api.py --mentions 20000 --duration 30          # both back ends
    python bench/api.py --db sqlite --mentions 1000000          # the full size (slow to seed)

PostgreSQL: a fresh database on --pg (default postgresql://postgres@127.0.0.1:5432), dropped after.
The server runs in a child process (`--serve`), the load generator in this one."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.base import Mention  # noqa: E402
from inbox.domain import Prediction  # noqa: E402

TEAMS = ("customer_care", "marketing")
PASSWORD = "bench-password-123"
AGENTS = 20


class FastClassifier:
    """Keyword stand-in for the model: the benchmark measures the service, not scikit-learn."""

    version = "bench-1"
    labels = ["customer_care", "hr", "marketing", "pr"]

    def predict(self, texts: list[str]) -> list[Prediction]:
        out = []
        for t in texts:
            lab = "marketing" if "love" in t else "hr" if "job" in t else "pr" if "press" in t else "customer_care"
            out.append(Prediction(lab, 0.9, {k: (0.9 if k == lab else 0.1 / 3) for k in self.labels}))
        return out


_TEXTS = ["my order {i} arrived broken, refund please", "I love the new offer {i}", "job opening {i}?",
          "press question {i} for the CEO", "order {i} late again, help"]


def mention(i: int, tag: str) -> Mention:
    return Mention(source="bench", platform="mastodon", external_id=f"{tag}-{i}", language="en",
                   text=_TEXTS[i % len(_TEXTS)].format(i=i), author_handle=f"user{i % 5000}",
                   url=f"https://social.example/@u/{i}")


def settings_for(url: str, tmp: Path) -> Any:
    from inbox.settings import load_settings
    return load_settings(ROOT / "config" / "inbox.toml", {"database_url": url, "model_dir": str(tmp / "models"),
                                                          "log_level": "warning", "db_pool_size": 10})


# seeding ----------------------------------------------------------------------------------

async def seed(url: str, tmp: Path, n: int) -> dict[str, Any]:
    from sqlalchemy import update

    from inbox import auth, migrate
    from inbox.classification import ClassifierHolder
    from inbox.repo import accounts
    from inbox.repo._common import T_ITEM
    from inbox.service import Services
    settings = settings_for(url, tmp)
    svc = await Services.open(settings)
    try:
        await migrate.upgrade(svc.engine)
        now = svc.clock.now()
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=now)
            pw = auth.hash_password(PASSWORD)
            tokens = {}
            for a in range(AGENTS):
                u = await accounts.add_user(f"agent{a}", "agent", [TEAMS[a % 2]], pw, conn=conn, now=now,
                                            capacity=1000)
                tok = auth.new_token()
                await accounts.add_token(u.id, auth.token_hash(tok), conn=conn, now=now)
                tokens[u.name] = tok
        svc.classifier = ClassifierHolder(FastClassifier())
        pipe = await svc.ready_pipeline()
        t0 = time.perf_counter()
        batch = 2000
        for start in range(0, n, batch):
            await pipe.ingest([mention(i, "seed") for i in range(start, min(n, start + batch))], log_event="bench_seed")
            if start and start % 100_000 == 0:
                print(f"  seeded {start:,} ({start / (time.perf_counter() - t0):,.0f}/s)", file=sys.stderr)
        seed_s = time.perf_counter() - t0
        # history is mostly done work: all but the newest 2% resolved (one bulk statement, bench only)
        async with svc.engine.begin() as conn:
            await conn.execute(update(T_ITEM).where(T_ITEM.c.id <= int(n * 0.98))
                               .values(status="resolved", resolved_at=now, first_touched_at=now))
        return {"tokens": tokens, "seed_seconds": seed_s}
    finally:
        await svc.close()


# the server process ----------------------------------------------------------------------

async def serve(url: str, port: int, ingest_rate: float) -> None:
    from aiohttp import web

    from inbox.classification import ClassifierHolder
    from inbox.logs import configure_logging
    from inbox.service import Services
    from inbox.web.app import create_app
    configure_logging("warning")
    tmp = Path(tempfile.mkdtemp())
    settings = settings_for(url, tmp)
    svc = await Services.open(settings)
    svc.classifier = ClassifierHolder(FastClassifier())
    await svc.ready_pipeline()
    app = create_app(settings, role="web", services=svc)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()

    async def ingest_loop() -> None:
        """ingest_rate mentions/s in 10 batches a second, on the server's own loop and process."""
        tag, i = uuid.uuid4().hex[:6], 0
        per = max(1, round(ingest_rate / 10))
        next_t = time.perf_counter()
        while not stop.is_set():
            assert svc.pipeline is not None
            await svc.pipeline.ingest([mention(i + k, "live" + tag) for k in range(per)], log_event="bench_ingest")
            i += per
            next_t += per / ingest_rate
            await asyncio.sleep(max(0.0, next_t - time.perf_counter()))
    task = asyncio.create_task(ingest_loop()) if ingest_rate > 0 else None
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    stop.set()
    if task:
        task.cancel()
    await runner.cleanup()
    await svc.close()


# the load generator -----------------------------------------------------------------------

@dataclass
class Stats:
    lat: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    late: int = 0

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        self.lat.setdefault(kind, []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))] if s else float("nan")


async def load(base: str, tokens: dict[str, str], rate: float, duration: float, timeout: float = 30) -> Stats:
    import aiohttp
    stats = Stats()
    names = sorted(tokens)
    sessions: dict[str, aiohttp.ClientSession] = {}
    conn = aiohttp.TCPConnector(limit=400)
    for n in names:  # a browser session per agent for the HTML pages
        s = aiohttp.ClientSession(base_url=base, connector=conn, connector_owner=False,
                                  cookie_jar=aiohttp.CookieJar(unsafe=True),
                                  timeout=aiohttp.ClientTimeout(total=timeout))  # a timeout is an error
        async with s.get("/login") as r:
            tok = re.search(r'name="_csrf" value="([^"]+)"', await r.text()).group(1)  # type: ignore[union-attr]
        async with s.post("/login", data={"name": n, "password": PASSWORD, "_csrf": tok},
                          headers={"Origin": base}, allow_redirects=False) as r:
            assert r.status == 303, r.status
        sessions[n] = s
    recent: dict[str, list[int]] = {t: [] for t in TEAMS}
    claimed: dict[str, list[int]] = {n: [] for n in names}
    rng = random.Random(1)

    async def one(kind: str, agent: str, scheduled: float) -> None:
        s = sessions[agent]
        team = TEAMS[int(agent[5:]) % 2]
        auth = {"Authorization": f"Bearer {tokens[agent]}"}
        ok = False
        try:
            if kind == "queue":
                async with s.get(f"/queues/{team}") as r:
                    body = await r.text()
                    ok = r.status == 200
                    ids = [int(x) for x in re.findall(r'data-item-id="(\d+)"', body)[:50]]
                    if ids:
                        recent[team] = ids
            elif kind == "item":
                ids = recent[team]
                if not ids:
                    kind = "item(skipped)"
                    ok = True
                else:
                    async with s.get(f"/items/{rng.choice(ids)}") as r:
                        await r.read()
                        ok = r.status == 200
            elif kind == "claim":
                async with s.post(f"/api/v1/queues/{team}/claim", headers=auth) as r:
                    d = await r.json()
                    ok = r.status == 200
                    if d.get("item"):
                        claimed[agent].append(d["item"]["id"])
            elif kind == "resolve":
                if not claimed[agent]:
                    kind, ok = "resolve(skipped)", True
                else:
                    async with s.post(f"/api/v1/items/{claimed[agent].pop()}/resolve", headers=auth, json={}) as r:
                        await r.read()
                        ok = r.status == 200
        except Exception:  # noqa: BLE001 - counted as an error
            ok = False
        stats.add(kind, time.perf_counter() - scheduled, ok)

    tasks = []
    t0 = time.perf_counter() + 0.2
    total = int(rate * duration)
    for i in range(total):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            stats.late += 1
        x = rng.random()
        kind = "queue" if x < 0.70 else "item" if x < 0.90 else "claim" if x < 0.95 else "resolve"
        tasks.append(asyncio.create_task(one(kind, names[i % len(names)], at)))
    await asyncio.gather(*tasks)
    for s in sessions.values():
        await s.close()
    await conn.close()
    return stats


def report(name: str, n: int, stats: Stats, seed_s: float, duration: float) -> dict[str, Any]:
    everything = [v for k, vs in stats.lat.items() if "skipped" not in k for v in vs]
    out: dict[str, Any] = {"db": name, "mentions": n, "seed_seconds": round(seed_s, 1),
                           "requests": len(everything), "achieved_rps": round(len(everything) / duration, 1),
                           "p50_ms": round(pct(everything, 50) * 1000, 1), "p99_ms": round(pct(everything, 99) * 1000, 1),
                           "errors": sum(stats.errors.values()), "generator_late": stats.late, "by_kind": {}}
    for k, vs in sorted(stats.lat.items()):
        out["by_kind"][k] = {"n": len(vs), "p50_ms": round(pct(vs, 50) * 1000, 1),
                             "p99_ms": round(pct(vs, 99) * 1000, 1), "errors": stats.errors.get(k, 0)}
    return out


async def run_one(db: str, args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg
    tmp = Path(tempfile.mkdtemp(prefix="inbox-bench-"))
    dbname = None
    if db == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    else:
        dbname = "si_bench_" + uuid.uuid4().hex[:8]
        admin = await asyncpg.connect(args.pg + "/postgres")
        await admin.execute(f'CREATE DATABASE "{dbname}"')
        await admin.close()
        url = args.pg.replace("postgresql://", "postgresql+asyncpg://") + "/" + dbname
    try:
        print(f"[{db}] seeding {args.mentions:,} mentions ...", file=sys.stderr)
        seeded = await seed(url, tmp, args.mentions)
        port = args.port or (20000 + random.randrange(20000))
        proc = subprocess.Popen([sys.executable, __file__, "--serve", "--db-url", url, "--port", str(port),
                                 "--ingest-rate", str(args.ingest_rate)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
            if "READY" not in line:
                raise RuntimeError("the server did not start")
            print(f"[{db}] load: {args.rate}/s for {args.duration}s, ingest {args.ingest_rate}/s", file=sys.stderr)
            stats = await load(f"http://127.0.0.1:{port}", seeded["tokens"], args.rate, args.duration, args.timeout)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        return report(db, args.mentions, stats, seeded["seed_seconds"], args.duration)
    finally:
        if dbname:
            admin = await asyncpg.connect(args.pg + "/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mentions", type=int, default=1_000_000)
    p.add_argument("--rate", type=float, default=200, help="requests per second (open loop)")
    p.add_argument("--ingest-rate", type=float, default=200, help="mentions per second ingested meanwhile")
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--pg", default=os.environ.get("INBOX_BENCH_PG", "postgresql://postgres@127.0.0.1:5432"))
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--timeout", type=float, default=30, help="seconds before a request counts as an error")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--db-url", help=argparse.SUPPRESS)
    args = p.parse_args()
    from inbox.logs import configure_logging
    configure_logging("warning")
    if args.serve:
        asyncio.run(serve(args.db_url, args.port, args.ingest_rate))
        return
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        r = asyncio.run(run_one(db, args))
        print(json.dumps(r))
        print(f"{db:>8}: {r['mentions']:,} mentions, {r['requests']} requests at {r['achieved_rps']}/s: "
              f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}", file=sys.stderr)


if __name__ == "__main__":
    main()
