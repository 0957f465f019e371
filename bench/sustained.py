"""Sustained ingest: mentions offered for N minutes, 25% of them duplicates of mentions already
offered, through the real pipeline (real model: language, classification, routing, one transaction
per batch) on SQLite (one process) and on PostgreSQL (--instances processes, default 2, on one
database). Prints the environment, mentions/s offered and stored, per minute, and the final
exactly-once check.

    python bench/sustained.py --minutes 10                 # SQLite, then PostgreSQL with 2 instances
    python bench/sustained.py --minutes 1 --db sqlite
    python bench/sustained.py --minutes 10 --db postgres --instances 2 --batch 2000

Targets (the issue): >= 5,000 mentions/s on SQLite, >= 3,000 mentions/s on PostgreSQL with 2
instances, on a 2-core machine. "mentions/s" counts every mention offered, duplicates included
(a duplicate costs a lookup, not a classification); stored/s counts the new ones.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"sqlite": 5000, "postgres": 3000}


def corpus() -> list[tuple[str, str | None]]:
    from ingest import corpus_texts  # bench/ingest.py, next to this script
    return corpus_texts([ROOT / "routing_models" / "data" / "seed.jsonl",
                         ROOT.parent / "shared" / "data" / "mentions" / "train.jsonl"])


def peak_rss_mb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry over the
    parent's footprint across fork + exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


async def worker(url: str, k: int, n: int, seconds: float, dup: float, batch: int, seed: int) -> None:
    """One instance: ingest batches of (1-dup) new + dup duplicate mentions until ``seconds`` pass;
    a JSON line every 10 s and at the end."""
    from connectors.base import Mention
    from inbox.ops.logs import configure_logging
    from inbox.ops.services import Services
    from inbox.settings import load_settings
    configure_logging("warning")
    settings = load_settings(ROOT / "config" / "inbox.toml", {"database_url": url, "log_level": "warning"})
    svc = await Services.open(settings)
    await svc.load_model()
    pipeline = await svc.ready_pipeline()
    texts = corpus()
    rng = random.Random(seed * 1000 + k)
    sent = 0           # new mentions this worker offered: ids w{k}-0 .. w{k}-{sent-1}
    totals = {"offered": 0, "ingested": 0, "duplicates": 0, "rejected": 0}
    fresh_per_batch = max(1, round(batch * (1 - dup)))
    t0 = time.perf_counter()
    next_report = t0 + 10
    series = []
    while time.perf_counter() - t0 < seconds:
        chunk = []
        for _ in range(fresh_per_batch):
            text, lang = texts[rng.randrange(len(texts))]
            chunk.append(Mention(source="bench", platform="import", external_id=f"w{k}-{sent}",
                                 text=f"{text} ({sent})", language=lang))
            sent += 1
        for _ in range(batch - fresh_per_batch):  # duplicates of mentions any instance already offered
            other = rng.randrange(n)
            upto = sent if other == k else max(1, sent - batch)
            i = rng.randrange(upto)
            text, lang = texts[(i * 7919 + other) % len(texts)]
            chunk.append(Mention(source="bench", platform="import", external_id=f"w{other}-{i}",
                                 text=f"{text} ({i})", language=lang))
        rng.shuffle(chunk)
        res = await pipeline.ingest(chunk, log_event="bench_batch")
        totals["offered"] += len(chunk)
        for key in ("ingested", "duplicates", "rejected"):
            totals[key] += getattr(res, key)
        now = time.perf_counter()
        if now >= next_report:
            series.append({"t": round(now - t0, 1), **totals})
            print(json.dumps({"worker": k, "progress": series[-1]}), flush=True)
            next_report += 10
    elapsed = time.perf_counter() - t0
    await svc.close()
    print(json.dumps({"worker": k, "final": {**totals, "seconds": round(elapsed, 2),
                                             "peak_rss_mb": peak_rss_mb(),
                                             "series": series}}), flush=True)


async def prepare(url: str) -> None:
    from inbox.settings import load_settings
    from tests.faults.harness import prepare_database
    await prepare_database(load_settings(ROOT / "config" / "inbox.toml", {"database_url": url}), agents=())


async def run(db: str, args: argparse.Namespace) -> dict[str, Any]:
    from tests.conftest import create_pg_database, drop_pg_database, pg_url
    from tests.faults.harness import ledger
    tmp = Path(tempfile.mkdtemp(prefix="si-sustained-"))
    name = None
    if db == "sqlite":
        url, n = f"sqlite+aiosqlite:///{tmp}/sustained.db", 1
    else:
        name = await create_pg_database()
        url, n = pg_url(name), args.instances
    try:
        await prepare(url)
        seconds = args.minutes * 60
        procs = [subprocess.Popen([sys.executable, __file__, "--worker", url, str(k), str(n), str(seconds),
                                   str(args.dup), str(args.batch), str(args.seed)], stdout=subprocess.PIPE, text=True)
                 for k in range(n)]
        finals: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()

        def collect(p: subprocess.Popen[str]) -> None:
            assert p.stdout is not None
            for line in p.stdout:
                msg = json.loads(line)
                if "final" in msg:
                    finals.append(msg["final"])
                else:
                    print(json.dumps({"db": db, **msg}), file=sys.stderr, flush=True)
            p.wait()
        await asyncio.gather(*[loop.run_in_executor(None, collect, p) for p in procs])
        if len(finals) != n:
            raise RuntimeError(f"{n - len(finals)} worker(s) failed")
        led = await ledger(url)
        offered = sum(f["offered"] for f in finals)
        stored = sum(f["ingested"] for f in finals)
        secs = max(f["seconds"] for f in finals)
        per_minute = []
        for m in range(1, int(args.minutes) + 1):  # offered/s in each minute, all instances together
            def at(f: dict[str, Any], t: float) -> int:
                pts = [s["offered"] for s in f["series"] if s["t"] <= t]
                return pts[-1] if pts else 0
            per_minute.append(round(sum(at(f, m * 60) - at(f, (m - 1) * 60) for f in finals) / 60))
        return {"db": db, "instances": n, "minutes": args.minutes, "batch": args.batch, "duplicate_share": args.dup,
                "offered": offered, "stored": stored, "seconds": round(secs, 1),
                "offered_per_s": round(offered / secs), "stored_per_s": round(stored / secs),
                "offered_per_s_by_minute": per_minute, "target_offered_per_s": TARGETS[db],
                "met": offered / secs >= TARGETS[db], "peak_rss_mb": [f["peak_rss_mb"] for f in finals],
                "exactly_once": {"stored_rows": led.mentions, "reported_stored": stored, "doubled": led.doubled,
                                 "orphans": led.orphans}}
    finally:
        if name:
            await drop_pg_database(name)


def environment() -> dict[str, Any]:
    from tests.faults.harness import model_artifact
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "kernel": platform.release(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
            "model": model_artifact()[1].get("version")}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, k, n, seconds, dup, batch, seed = sys.argv[2:9]
        asyncio.run(worker(url, int(k), int(n), float(seconds), float(dup), int(batch), int(seed)))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--instances", type=int, default=2, help="PostgreSQL: ingesting processes")
    p.add_argument("--dup", type=float, default=0.25, help="share of duplicates among offered mentions")
    p.add_argument("--batch", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    from inbox.ops.logs import configure_logging
    configure_logging("warning")
    env = environment()
    print(json.dumps({"environment": env}), flush=True)
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        r = asyncio.run(run(db, args))
        r["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(r), flush=True)
        print(f"{db:>8} x{r['instances']}: {r['offered_per_s']:,} mentions/s offered ({r['stored_per_s']:,}/s new), "
              f"target {r['target_offered_per_s']:,}: {'met' if r['met'] else 'MISSED'}", file=sys.stderr)


if __name__ == "__main__":
    main()
