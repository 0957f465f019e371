"""Fault-injection suite at full size: the scenarios of tests/faults, bigger, with their figures.

    python bench/faults.py                       # everything, full size (about 30-60 min on 2 cores)
    python bench/faults.py --only crash --kills 25
    python bench/faults.py --only instances --mentions 100000 --pg-restarts 3
    python bench/faults.py --only hostile
    python bench/faults.py --markdown bench/RESULTS-faults.md   # also write the results table

- crash: `serve` instances ingesting from the replay server, SIGKILLed --kills times at pause
  points (poll, classify, commit, inside a claim), right after a committed claim, or at random;
  on PostgreSQL, then on SQLite (--crash-sqlite-kills). Lost/doubled counted against a clean run.
- instances: --instances `social-inbox import` processes over overlapping shards of --mentions
  mentions on one PostgreSQL, supervised; one is SIGKILLed every --kill-every seconds and
  PostgreSQL is restarted --pg-restarts times (`pg_ctlcluster ... restart`; it is started again
  whatever happens). A fault-free run of the same load first gives the reference time; the
  target is faults-run time <= 2x reference.
- hostile: the hostile-sources scenario (20% 5xx, 10% 429 in both Retry-After forms, timeouts,
  truncated and malformed bodies, repeated pages, one dead source) through the poller into
  SQLite and PostgreSQL.

PostgreSQL: $INBOX_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test) names the server
whose cluster is restarted; fresh databases are created and dropped. Needs root (pg_ctlcluster).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inbox.ops.logs import configure_logging  # noqa: E402
from tests.conftest import PG_ADMIN_DSN, create_pg_database, drop_pg_database, make_settings, pg_url  # noqa: E402
from tests.faults.harness import model_artifact, pg_cluster  # noqa: E402
from tests.faults.scenarios import crash_recovery, instances_under_fire  # noqa: E402


def environment() -> dict[str, Any]:
    pg = subprocess.run(["psql", PG_ADMIN_DSN, "-Atc", "show server_version"], capture_output=True, text=True,
                        check=False).stdout.strip()
    mem = None
    try:
        mem = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "kernel": platform.release(), "mem_gib": mem, "postgresql": pg or None,
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
            "model": model_artifact()[1].get("version")}


async def _with_pg_db(fn: Any) -> Any:
    name = await create_pg_database()
    try:
        return await fn(pg_url(name))
    finally:
        await drop_pg_database(name)


async def run_crash(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    out = []
    d = work / "crash-pg"
    d.mkdir()
    r = await _with_pg_db(lambda url: crash_recovery(url, d, kills=args.kills, seed=args.seed))
    out.append(r.as_dict())
    _say("crash/postgres", r.as_dict())
    if args.crash_sqlite_kills:
        d = work / "crash-sqlite"
        d.mkdir()
        r = await crash_recovery(f"sqlite+aiosqlite:///{d}/crash.db", d, kills=args.crash_sqlite_kills, seed=args.seed)
        out.append(r.as_dict())
        _say("crash/sqlite", r.as_dict())
    return out


async def run_instances(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    pg = pg_cluster(PG_ADMIN_DSN)
    lo, hi = (float(x) for x in args.kill_every.split(","))
    d0 = work / "instances-reference"
    d0.mkdir()
    ref = await _with_pg_db(lambda url: instances_under_fire(url, d0, mentions=args.mentions, instances=args.instances,
                                                            kill_every=None, seed=args.seed))
    _say("instances/reference", {k: v for k, v in ref.as_dict().items() if k != "events"})
    d1 = work / "instances-faults"
    d1.mkdir()
    hit = await _with_pg_db(lambda url: instances_under_fire(url, d1, mentions=args.mentions,
                                                            instances=args.instances, kill_every=(lo, hi), pg=pg,
                                                            pg_restarts=args.pg_restarts, seed=args.seed))
    _say("instances/faults", {k: v for k, v in hit.as_dict().items() if k != "events"})
    return {"reference": ref.as_dict(), "faults": hit.as_dict(), "pg_running_after": pg.is_ready(),
            "time_ratio": round(hit.seconds / ref.seconds, 2) if ref.seconds else None}


async def run_hostile(work: Path) -> list[dict[str, Any]]:
    from collections import Counter

    from connectors.replay import FaultPlan
    from tests.faults.test_hostile_sources import _run, hostile_plan
    out = []

    def factory(url: str) -> Any:
        return make_settings(url, work)

    control = await _run(f"sqlite+aiosqlite:///{work}/hostile-control.db", factory, None, work)
    for kind in ("sqlite", "postgres"):
        plan = hostile_plan()

        async def go(url: str, plan: FaultPlan = plan) -> dict[str, Any]:
            return await _run(url, factory, plan, work)
        r = await (go(f"sqlite+aiosqlite:///{work}/hostile.db") if kind == "sqlite" else _with_pg_db(go))
        led = r["ledger"]
        faults = Counter(x.fault for x in r["log"])
        row = {"database": kind, "requests": len(r["log"]), "faults": dict(faults),
               "early_requests": sum(1 for x in r["log"] if x.early), "expected": len(control["ledger"].keys),
               "stored": led.mentions, "lost": len(control["ledger"].keys - led.keys),
               "extra": len(led.keys - control["ledger"].keys), "doubled": led.doubled,
               "dead_source_done_before_others": r["stalled"]}
        out.append(row)
        _say(f"hostile/{kind}", row)
    return out


def _say(what: str, data: Any) -> None:
    print(json.dumps({"scenario": what, **(data if isinstance(data, dict) else {"result": data})}, default=str),
          flush=True)


def markdown(env: dict[str, Any], res: dict[str, Any]) -> str:
    lines = ["# Fault-injection results (full size)", "",
             "Produced by `python bench/faults.py --markdown bench/RESULTS-faults.md`; the CI-size suite is "
             "`pytest tests/faults`.", "",
             "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()), ""]
    if "crash" in res:
        lines += ["## Crash recovery (SIGKILL during poll, classify, commit, claim, after a claim, at random)", "",
                  "| database | kills survived | by point | expected mentions | lost | doubled | extra | orphans "
                  "| held items claimable again after lease | seconds |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in res["crash"]:
            led = r["ledger"]
            checks = r["claim_checks"]
            ok = sum(1 for c in checks if c["reclaimed"])
            lines.append(f"| {r['database'].split('+')[0]} | {r['total_kills']} | "
                         f"{', '.join(f'{k} {v}' for k, v in sorted(r['kills'].items()))} | {r['expected']} | "
                         f"{led.get('lost')} | {led.get('doubled')} | {led.get('extra')} | {led.get('orphans')} | "
                         f"{ok}/{len(checks)} | {r['seconds']} |")
        lines.append("")
    if "instances" in res:
        i = res["instances"]
        ref, hit = i["reference"], i["faults"]
        lines += ["## Several instances, kills and PostgreSQL restarts", "",
                  "| run | instances | mentions | SIGKILLs | PostgreSQL restarts | process starts | lost | doubled "
                  "| extra | seconds |", "|---|---|---|---|---|---|---|---|---|---|"]
        for name, r in (("fault-free reference", ref), ("under faults", hit)):
            led = r["ledger"]
            lines.append(f"| {name} | {r['instances']} | {r['mentions']} | {r['kills']} | {r['pg_restarts']} | "
                         f"{r['starts']} | {led['lost']} | {led['doubled']} | {led['extra']} | {r['seconds']} |")
        lines += ["", f"Time under faults / fault-free: **{i['time_ratio']}** (target <= 2). PostgreSQL running "
                  f"afterwards: {i['pg_running_after']}.", ""]
    if "hostile" in res:
        lines += ["## Hostile sources", "",
                  "| database | requests | 5xx | 429 (seconds / date) | slow | malformed | truncated | repeated "
                  "| early requests | expected | lost | doubled |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in res["hostile"]:
            f = r["faults"]
            lines.append(f"| {r['database']} | {r['requests']} | {f.get('5xx', 0)} | {f.get('429-seconds', 0)} / "
                         f"{f.get('429-date', 0)} | {f.get('slow', 0)} | {f.get('malformed', 0)} | "
                         f"{f.get('truncated', 0)} | {f.get('repeat', 0)} | {r['early_requests']} | {r['expected']} | "
                         f"{r['lost']} | {r['doubled']} |")
        lines.append("")
    return "\n".join(lines) + "\n"


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", default="crash,instances,hostile")
    p.add_argument("--kills", type=int, default=25, help="crash recovery kills on PostgreSQL")
    p.add_argument("--crash-sqlite-kills", type=int, default=12, help="crash recovery kills on SQLite (0: skip)")
    p.add_argument("--mentions", type=int, default=100_000)
    p.add_argument("--instances", type=int, default=3)
    p.add_argument("--pg-restarts", type=int, default=3)
    p.add_argument("--kill-every", default="5,15", help="seconds between SIGKILLs: LOW,HIGH")
    p.add_argument("--seed", type=int, default=25)
    p.add_argument("--markdown", type=Path, help="write the results as Markdown to this file")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs of every process)")
    args = p.parse_args()
    configure_logging("warning")
    only = set(args.only.split(","))
    env = environment()
    print(json.dumps({"environment": env}), flush=True)
    work = Path(tempfile.mkdtemp(prefix="si-faults-"))
    res: dict[str, Any] = {}
    t0 = time.monotonic()
    if "crash" in only:
        res["crash"] = await run_crash(args, work)
    if "instances" in only:
        res["instances"] = await run_instances(args, work)
    if "hostile" in only:
        res["hostile"] = await run_hostile(work)
    env["seconds_total"] = round(time.monotonic() - t0)
    env["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps({"results": res, "environment": env}, default=str), flush=True)
    if args.markdown:
        args.markdown.write_text(markdown(env, res), encoding="utf-8")
    if args.keep:
        print(f"logs: {work}", file=sys.stderr)
    else:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
