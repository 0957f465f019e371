"""Burst: --rate mentions/s (default 10,000) appear at the sources for --seconds (default 60),
while `serve` instances poll them; the backlog (published, not yet stored) must drain to zero
with nothing dropped or doubled, while the API keeps its latency goal.

    python bench/burst.py                                  # SQLite, one `serve --role all`
    python bench/burst.py --db postgres --topology split   # PostgreSQL: 1 web + 2 workers
    python bench/burst.py --rate 2000 --seconds 20         # a quick rehearsal

The sources are --connectors Mastodon connectors polling a built-in firehose server (the
Mastodon search API with min_id paging, indexed so that a page costs the same at any backlog).
An open-loop probe (--probe-rate requests/s; latency measured from each request's scheduled
time, so a stalled server cannot hide) reads queues and item lists and claims/releases items on
the instance serving the API, before the burst (idle), during it, and while the backlog drains.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.harness import (  # noqa: E402
    free_port,
    ledger,
    model_artifact,
    prepare_database,
    spawn,
    sql_scalar,
    wait_for,
    write_config,
)

TEXTS = ["Lumetta: my order arrived broken, I need a refund", "Lumetta is hiring? any interview tips",
         "love the new Lumetta price offer", "a journalist asks the Lumetta CEO about the lawsuit",
         "Lumetta la consegna è in ritardo, aiuto", "Lumetta cerca personale a Milano?"]


class Firehose:
    """Partitions of pre-serialised Mastodon statuses with increasing ids; pages by min_id."""

    def __init__(self, partitions: int) -> None:
        self.ids: list[list[int]] = [[] for _ in range(partitions)]
        self.bodies: list[list[bytes]] = [[] for _ in range(partitions)]
        self.next_id = 10**15
        self.published = 0
        self.requests = 0

    def publish(self, n: int) -> None:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        for _ in range(n):
            self.next_id += 1
            i = self.next_id
            p = i % len(self.ids)
            status = {"id": str(i), "uri": f"https://burst.example/statuses/{i}", "url": None, "created_at": now,
                      "language": "en", "spoiler_text": "", "reblog": None,
                      "content": f"<p>{TEXTS[i % len(TEXTS)]} #{i}</p>",
                      "account": {"acct": f"user{i % 5000}", "url": "https://burst.example/@u", "display_name": "U"}}
            self.ids[p].append(i)
            self.bodies[p].append(json.dumps(status).encode())
        self.published += n

    async def search(self, request: web.Request) -> web.Response:
        self.requests += 1
        p = int(request.query.get("q", "burst0").removeprefix("burst"))
        limit = max(1, min(int(request.query.get("limit", "40")), 40))
        ids, bodies = self.ids[p], self.bodies[p]
        min_id = request.query.get("min_id")
        if min_id:
            start = bisect.bisect_right(ids, int(min_id))
            page = bodies[start:start + limit]
        else:
            page = bodies[max(0, len(bodies) - limit):][::-1]
        body = b'{"accounts":[],"hashtags":[],"statuses":[' + b",".join(page) + b"]}"
        return web.Response(body=body, content_type="application/json")

    def upto(self, partition: int, min_id: int | None) -> int:
        """How many of a partition's statuses are at or below ``min_id``."""
        return 0 if min_id is None else bisect.bisect_right(self.ids[partition], min_id)

    def app(self) -> web.Application:
        a = web.Application()
        a.router.add_get("/mastodon/api/v2/search", self.search)
        return a


@dataclass
class Probe:
    lat: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # phase -> (t, seconds)
    by_kind: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # phase -> kind -> seconds
    errors: dict[str, int] = field(default_factory=dict)
    phase: str = "idle"

    def add(self, kind: str, scheduled: float, ok: bool) -> None:
        took = time.perf_counter() - scheduled
        self.lat.setdefault(self.phase, []).append((scheduled, took))
        self.by_kind.setdefault(self.phase, {}).setdefault(kind, []).append(took)
        if not ok:
            self.errors[self.phase] = self.errors.get(self.phase, 0) + 1


async def probe(base: str, token: str, rate: float, stop: asyncio.Event, p: Probe) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(3)
    tasks: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(base, headers=headers, timeout=aiohttp.ClientTimeout(total=60)) as s:
        async def one(kind: str, at: float) -> None:
            ok = True
            try:
                if kind == "queues":
                    async with s.get("/api/v1/queues") as r:
                        ok = r.status == 200
                        await r.read()
                elif kind == "items":
                    async with s.get("/api/v1/queues/customer_care/items?limit=50") as r:
                        ok = r.status == 200
                        await r.read()
                else:
                    async with s.post("/api/v1/queues/customer_care/claim", json={}) as r:
                        ok = r.status == 200
                        item = (await r.json()).get("item") if ok else None
                    if item:
                        async with s.post(f"/api/v1/items/{item['id']}/release", json={}) as r:
                            ok = r.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            p.add(kind, at, ok)

        t0 = time.perf_counter()
        i = 0
        while not stop.is_set():
            at = t0 + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            x = rng.random()
            kind = "queues" if x < 0.5 else "items" if x < 0.9 else "claim"
            t = asyncio.create_task(one(kind, at))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
            i += 1
        await asyncio.gather(*tasks)


def pct(vs: list[float], q: float) -> float:
    if not vs:
        return 0.0
    s = sorted(vs)
    return s[min(len(s) - 1, int(len(s) * q / 100))]


CONNECTOR = """
[[connectors]]
name = "burst{j}"
type = "mastodon"
base_url = "{base}/mastodon"
query = ["burst{j}"]
interval = "1s"
max_pages = {pages}
page_size = 40
allow_private_hosts = true
"""


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from inbox.settings import load_settings
    from tests.conftest import create_pg_database, drop_pg_database, pg_url
    tmp = Path(tempfile.mkdtemp(prefix="si-burst-"))
    name = None
    if args.db == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/burst.db"
    else:
        name = await create_pg_database()
        url = pg_url(name)
    hose = Firehose(args.connectors)
    runner = web.AppRunner(hose.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hose_base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    procs = []
    try:
        cfg = write_config(tmp / "burst.toml", server={"poll_lease": "2m"},
                           connectors="".join(CONNECTOR.format(j=j, base=hose_base, pages=args.max_pages)
                                              for j in range(args.connectors)))
        agents = await prepare_database(load_settings(cfg, {"database_url": url}), agents=("prober",))
        env = {"INBOX_DATABASE_URL": url, "INBOX_LOG_LEVEL": "warning", "INBOX_DB_POOL_SIZE": str(args.pool)}
        if args.topology == "split":
            roles = ["web"] + ["worker"] * args.workers
        else:
            roles = ["all"] * args.instances
        ports = [free_port() for _ in roles]
        hose.publish(args.connectors)  # one status per source: the first polls set their cursors
        for k, (role, port) in enumerate(zip(roles, ports, strict=True)):
            procs.append(await spawn(["--config", str(cfg), "serve", "--role", role, "--port", str(port)], env=env,
                                     log=tmp / f"instance{k}.log"))
        api = f"http://127.0.0.1:{ports[0]}"
        async with aiohttp.ClientSession() as s:
            async def healthy() -> bool:
                try:
                    async with s.get(api + "/api/v1/health") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False
            if not await wait_for(healthy, timeout=300):
                raise RuntimeError("the API instance never became healthy: " + procs[0].output())

        async def stored() -> int:
            """Firehose mentions stored, from the connectors' cursors (saved in the same
            transaction as the mentions): no scan of a growing table while measuring."""
            from inbox.storage.engine import create_engine
            engine = create_engine(url)
            try:
                async with engine.connect() as conn:
                    rows = (await conn.execute(text("SELECT name, cursor FROM connector_state"))).all()
            finally:
                await engine.dispose()
            cursors = {n: (c if isinstance(c, dict) else json.loads(c or "null")) for n, c in rows}
            return sum(hose.upto(j, _min_id(cursors.get(f"burst{j}"))) for j in range(args.connectors))
        if not await wait_for(lambda: _ge(stored, args.connectors), timeout=300):
            raise RuntimeError("the first polls never happened")
        p = Probe()
        stop = asyncio.Event()
        prober = asyncio.create_task(probe(api, agents["prober"].token, args.probe_rate, stop, p))
        await asyncio.sleep(args.idle)
        # the burst
        p.phase = "burst"
        base_count = await stored()
        backlog: list[tuple[float, int]] = []
        t_burst = time.perf_counter()
        ticks = int(args.seconds * 10)
        per_tick = args.rate / 10
        owed = 0.0
        sampler_stop = asyncio.Event()

        async def sampler() -> None:
            while not sampler_stop.is_set():
                try:
                    n = await stored()
                    published = hose.published - args.connectors
                    backlog.append((round(time.perf_counter() - t_burst, 1), published - (n - base_count)))
                except Exception:  # noqa: BLE001 - the database may be busy; sample again
                    pass
                await asyncio.sleep(1)
        samp = asyncio.create_task(sampler())
        for tick in range(ticks):
            owed += per_tick
            n = int(owed)
            owed -= n
            hose.publish(n)
            delay = t_burst + (tick + 1) / 10 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        offered_s = time.perf_counter() - t_burst
        p.phase = "drain"
        total = hose.published - args.connectors
        drained = await wait_for(lambda: _ge(stored, base_count + total), timeout=args.drain_timeout, every=1.0)
        drain_s = time.perf_counter() - t_burst
        p.phase = "after"
        await asyncio.sleep(min(5.0, args.idle))
        stop.set()
        sampler_stop.set()
        await prober
        await samp
        led = await ledger(url)
        final = int(await sql_scalar(url, "SELECT count(*) FROM mention WHERE source LIKE 'burst%'"))
        lat = {ph: {"n": len(v), "p50_ms": round(pct([x for _, x in v], 50) * 1000, 1),
                    "p95_ms": round(pct([x for _, x in v], 95) * 1000, 1),
                    "p99_ms": round(pct([x for _, x in v], 99) * 1000, 1),
                    "max_ms": round(max((x for _, x in v), default=0) * 1000, 1), "errors": p.errors.get(ph, 0)}
               for ph, v in p.lat.items()}
        for ph, kinds in p.by_kind.items():  # which requests make the tail: p50/p99 ms per kind
            lat[ph]["by_kind"] = {k: [len(v), round(pct(v, 50) * 1000, 1), round(pct(v, 99) * 1000, 1)]
                                  for k, v in sorted(kinds.items())}
        busy = [x for ph in ("burst", "drain") for _, x in p.lat.get(ph, [])]
        return {"db": args.db, "topology": args.topology, "roles": roles, "connectors": args.connectors,
                "offered_rate": args.rate, "offered_seconds": round(offered_s, 1), "published": total,
                "achieved_offer_rate": round(total / offered_s), "drained": drained,
                "seconds_to_drain_from_burst_start": round(drain_s, 1),
                "ingest_rate_during_burst_and_drain": round((final - base_count) / drain_s) if drain_s else None,
                "max_backlog": max((b for _, b in backlog), default=0), "backlog_samples": backlog[::5],
                "dropped": total - (final - base_count) if drained else None,
                "doubled": led.doubled, "orphans": led.orphans, "firehose_requests": hose.requests,
                "api_latency": lat, "goal_p99_ms": args.goal_p99_ms,
                "goal_met": pct(busy, 99) * 1000 <= args.goal_p99_ms and not any(p.errors.values())}
    finally:
        for pr in procs:
            await pr.kill()
        await runner.cleanup()
        if name:
            await drop_pg_database(name)


def _min_id(cursor: Any) -> int | None:
    try:
        return max(int(st["min_id"]) for st in cursor["streams"].values() if st.get("min_id"))
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


async def _ge(fn: Any, n: int) -> bool:
    try:
        return bool(await fn() >= n)
    except Exception:  # noqa: BLE001
        return False


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--topology", choices=["all", "split"], help="all: N x `--role all`; split: 1 web + N workers "
                   "(default: all on SQLite, split on PostgreSQL)")
    p.add_argument("--instances", type=int, default=1, help="topology all: instances")
    p.add_argument("--workers", type=int, default=2, help="topology split: worker instances")
    p.add_argument("--rate", type=float, default=10_000, help="mentions/s published during the burst")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--connectors", type=int, default=4, help="sources (each polled under its own lease)")
    p.add_argument("--max-pages", type=int, default=250, help="pages of 40 per poll")
    p.add_argument("--pool", type=int, default=5, help="db_pool_size of each instance")
    p.add_argument("--probe-rate", type=float, default=20, help="API requests/s from the latency probe")
    p.add_argument("--idle", type=float, default=10, help="seconds of probing before the burst")
    p.add_argument("--drain-timeout", type=float, default=3600)
    p.add_argument("--goal-p99-ms", type=float, default=500, help="API latency goal: p99 during burst and drain")
    args = p.parse_args()
    if args.topology is None:
        args.topology = "split" if args.db == "postgres" else "all"
    from inbox.ops.logs import configure_logging
    configure_logging("warning")
    env = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine(),
           "kernel": platform.release(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
           "model": model_artifact()[1].get("version")}
    print(json.dumps({"environment": env}), flush=True)
    r = asyncio.run(run(args))
    r["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(r), flush=True)
    busy = r["api_latency"].get("burst", {})
    print(f"{r['published']:,} mentions offered at {r['achieved_offer_rate']:,}/s; drained: {r['drained']} after "
          f"{r['seconds_to_drain_from_burst_start']} s (ingest {r['ingest_rate_during_burst_and_drain']}/s), dropped "
          f"{r['dropped']}, doubled {r['doubled']}; API p99 during the burst {busy.get('p99_ms')} ms "
          f"(goal {args.goal_p99_ms} ms: {'met' if r['goal_met'] else 'MISSED'})", file=sys.stderr)


if __name__ == "__main__":
    main()
