"""Polling benchmark: mentions/s through one connector from a local replay server into the queues,
with the real HTTP client, parser, batch pipeline, model and SQLite/PG.

    python bench/poll.py --n 10000 [--batch 1000] [--server inline] [--platform reddit] [--database-url URL]

The connector is Mastodon search (40 statuses a page, a ``min_id`` walk handed over in batches),
or with ``--platform reddit`` Reddit search (100 posts a page, a newest-first walk that can only
be stored whole, so one transaction and no overlap).
By default the replay server runs in a child process, as a remote platform would, so that
``cpu_s_per_1000`` is the poller's own CPU (HTTP client, parsing, classification, routing,
writes); ``--server inline`` serves from this process and event loop (the setup of the first
figures in RESULTS.md), so the server's CPU is counted too.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.config import ConnectorSettings  # noqa: E402
from connectors.replay import REPLAY_STORE, create_replay_app  # noqa: E402
from connectors.testing import fresh_items, serve_app  # noqa: E402
from inbox.ingest.poll import Poller  # noqa: E402
from inbox.ops.logs import configure_logging  # noqa: E402
from inbox.ops.services import Services  # noqa: E402
from inbox.settings import load_settings  # noqa: E402
from inbox.storage import migrate  # noqa: E402
from inbox.storage.repo import accounts  # noqa: E402

Publish = Callable[[int, datetime, str, float], None]
CONNECTORS: dict[str, dict[str, Any]] = {
    "mastodon": {"type": "mastodon", "page_size": 40},
    "reddit": {"type": "reddit", "page_size": 100},
}


def _serve_in_child(root: str, platform: str, commands: Connection) -> None:
    """Child process: serve the replay app; publish fresh items when the parent asks."""
    async def run() -> None:
        app = create_replay_app(Path(root))
        async with serve_app(app) as base:
            commands.send(base)
            loop = asyncio.get_running_loop()
            while True:
                command = await loop.run_in_executor(None, commands.recv)
                if command is None:
                    return
                count, at, tag, step = command
                app[REPLAY_STORE].add(platform, fresh_items(platform, count, at, tag=tag, step=step))
                commands.send("published")
    asyncio.run(run())


@asynccontextmanager
async def replay_server(root: Path, platform: str, *, inline: bool) -> AsyncIterator[tuple[str, Publish]]:
    """(base URL, publish(count, at, tag, step)) of a replay server, inline or in a child process."""
    if inline:
        app = create_replay_app(root)
        async with serve_app(app) as base:
            yield base, lambda n, at, tag, step: app[REPLAY_STORE].add(
                platform, fresh_items(platform, n, at, tag=tag, step=step))
        return
    ours, theirs = mp.Pipe()
    child = mp.get_context("spawn").Process(target=_serve_in_child, args=(str(root), platform, theirs), daemon=True)
    child.start()
    try:
        base = ours.recv()

        def publish(n: int, at: datetime, tag: str, step: float) -> None:
            ours.send((n, at, tag, step))
            assert ours.recv() == "published"
        yield base, publish
    finally:
        ours.send(None)
        child.join(10)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument(
        "--batch",
        type=int,
        default=None,
        help="mentions per transaction (default: the Poller's, 250 on SQLite, 1000 on PostgreSQL)",
    )
    ap.add_argument("--server", choices=("process", "inline"), default="process")
    ap.add_argument("--platform", choices=sorted(CONNECTORS), default="mastodon")
    ap.add_argument("--database-url")
    args = ap.parse_args()
    configure_logging("warning")
    tmp = tempfile.mkdtemp(prefix="si-poll-")
    empty = Path(tmp) / "empty"
    empty.mkdir()
    async with replay_server(empty, args.platform, inline=args.server == "inline") as (base, publish):
        # both walks reach every item published since the first poll (Mastodon: min_id from the
        # cursor; Reddit: newest first until a page holds an item seen before)
        shape = CONNECTORS[args.platform]
        cfg = ConnectorSettings.model_validate({"name": "bench", "base_url": f"{base}/{args.platform}",
                                                "query": ["lumetta"], "interval": "1m", "allow_private_hosts": True,
                                                "max_pages": 1000, **shape})
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/poll.db"
        settings = load_settings(ROOT / "config" / "inbox.toml", {"database_url": url, "model_dir": f"{tmp}/m",
                                                                   "log_level": "warning"})
        settings = settings.model_copy(update={"connectors": [cfg]})
        svc = await Services.open(settings)
        await migrate.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
        await svc.install_default_model()
        await svc.load_model()
        start = datetime.now(UTC) - timedelta(hours=6)
        async with Poller(svc, batch_size=args.batch) as poller:
            poller_batch = poller.batch_size
            publish(1, start - timedelta(minutes=1), "anchor", 1.0)
            r0 = await poller.poll(cfg)  # the first poll reads the newest page and sets the cursor
            publish(args.n, start, "bench", 0.5)
            got, polls, requests, batches = 0, 0, 0, 0
            t0, c0 = time.perf_counter(), time.process_time()
            while got < args.n and polls < 10_000:
                r = await poller.poll(cfg)
                polls += 1
                requests += r.get("requests", 0)
                batches += r.get("batches", 0)
                got += r.get("ingested", 0)
                if not r.get("ok"):
                    print(json.dumps({"error": r}, default=str), file=sys.stderr)
                    break
                if r.get("ingested", 0) == 0 and r.get("fetched", 0) == 0:
                    break
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        await svc.close()
    print(
        json.dumps(
            {
                "benchmark": "poll",
                "connector": args.platform,
                "page_size": cfg.page_size,
                "n": args.n,
                "ingested": got,
                "first_poll": r0.get("ingested"),
                "polls": polls,
                "requests": requests,
                "batches": batches,
                "batch_size": poller_batch,
                "server": args.server,
                "seconds": round(secs, 2),
                "mentions_per_s": round(got / secs),
                "cpu_s_per_1000": round(cpu / max(got, 1) * 1000, 3),
                "database": url.split(":")[0],
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "load_avg": [round(x, 2) for x in os.getloadavg()],
                "env": {"python": platform.python_version(), "cpus": os.cpu_count()},
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
