"""The server's CPU per request, by kind of request, one request at a time: what `bench/api.py`'s
mix is made of, without its queueing. Starts `bench/api.py`'s server (`--serve`, no live ingest
unless --ingest-rate) on a copy of a seeded SQLite file, signs one agent in, and for each kind sends
--n requests in sequence after 20 unmeasured ones, reading the server's user and system CPU from
/proc (Linux) before and after.

    python bench/api.py --db sqlite --mentions 200000 --seed-only      # prints the file's URL
    python bench/request_cpu.py --db FILE [--kinds health,queue,item,search,claim] [--n 1000]
    python bench/request_cpu.py --db FILE --asyncio-loop               # the same on asyncio's own loop
    python bench/request_cpu.py --db FILE --kinds idle --ingest-rate 200  # the live ingest alone

Kinds: health (/api/v1/health), static (/static/app.css), queue (the team's queue page), item (an
item page of that queue), search (/api/v1/search), claim (a claim and the resolve of what it took:
the figure is the pair's), idle (nothing: 10 ms of sleep, so the CPU is the live ingest's and the
background jobs'). The file is copied first, so the claims use up nothing of it."""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api  # noqa: E402  (bench/api.py: its server, seeding helpers and search terms)


async def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    import aiohttp
    tmp = Path(tempfile.mkdtemp(prefix="inbox-request-cpu-"))
    shutil.copy(args.db, tmp / "bench.db")
    url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    tokens = (await api.fresh_tokens(url, tmp))["tokens"]
    port = 20000 + random.randrange(20000)
    cmd = [sys.executable, api.__file__, "--serve", "--db-url", url, "--port", str(port),
           "--ingest-rate", str(args.ingest_rate), *(["--asyncio-loop"] if args.asyncio_loop else [])]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out = []
    try:
        assert proc.stdout is not None
        if "READY" not in proc.stdout.readline():
            raise RuntimeError("the server did not start")
        base = f"http://127.0.0.1:{port}"
        agent = sorted(tokens)[0]
        team = api.TEAMS[int(agent[5:]) % 2]
        auth = {"Authorization": f"Bearer {tokens[agent]}"}
        rng = random.Random(1)
        async with aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            await api.sign_in(s, base, agent)
            async with s.get(f"/queues/{team}") as r:
                ids = [int(x) for x in re.findall(r'data-item-id="(\d+)"', await r.text())[:50]]

            async def one(kind: str) -> None:
                if kind == "idle":
                    await asyncio.sleep(0.01)
                    return
                if kind == "claim":
                    async with s.post(f"/api/v1/queues/{team}/claim", headers=auth) as r:
                        taken = await r.json()
                        assert r.status == 200 and taken.get("item"), taken
                    req = s.post(f"/api/v1/items/{taken['item']['id']}/resolve", headers=auth, json={})
                elif kind == "item":
                    req = s.get(f"/items/{rng.choice(ids)}")
                elif kind == "search":
                    req = s.get("/api/v1/search", params={"q": api._search_query(rng), "limit": "20"}, headers=auth)
                else:
                    req = s.get({"health": "/api/v1/health", "static": "/static/app.css",
                                 "queue": f"/queues/{team}"}[kind])
                async with req as r:
                    await r.read()
                    assert r.status == 200, (kind, r.status)

            for kind in args.kinds.split(","):
                for _ in range(20):
                    await one(kind)
                (u0, s0), t0 = api.cpu_times(proc.pid), time.perf_counter()
                for _ in range(args.n):
                    await one(kind)
                (u1, s1), t1 = api.cpu_times(proc.pid), time.perf_counter()
                row = {"kind": kind, "n": args.n, "cpu_ms": round(1000 * (u1 - u0 + s1 - s0) / args.n, 3),
                       "user_ms": round(1000 * (u1 - u0) / args.n, 3), "sys_ms": round(1000 * (s1 - s0) / args.n, 3),
                       "wall_ms": round(1000 * (t1 - t0) / args.n, 3)}
                print(json.dumps(row), flush=True)
                out.append(row)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", required=True, type=Path, help="a SQLite file seeded by bench/api.py --seed-only")
    p.add_argument("--kinds", default="health,queue,item,search,claim")
    p.add_argument("--n", type=int, default=1000, help="measured requests per kind")
    p.add_argument("--ingest-rate", type=float, default=0, help="live ingest meanwhile, mentions/s")
    p.add_argument("--asyncio-loop", action="store_true", help="serve on asyncio's own loop instead of uvloop")
    asyncio.run(measure(p.parse_args()))


if __name__ == "__main__":
    main()
