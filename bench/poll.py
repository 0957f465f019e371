"""Polling benchmark: mentions/s through one connector (Mastodon search API format) from a local
replay server into the queues, with the real HTTP client, parser, pipeline, model and SQLite/PG.

    python bench/poll.py --n 20000 [--database-url URL]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.config import ConnectorSettings  # noqa: E402
from connectors.replay import REPLAY_STORE, create_replay_app  # noqa: E402
from connectors.testing import fresh_items, serve_app  # noqa: E402
from inbox import migrate  # noqa: E402
from inbox.logs import configure_logging  # noqa: E402
from inbox.poller import Poller  # noqa: E402
from inbox.repo import accounts  # noqa: E402
from inbox.service import Services  # noqa: E402
from inbox.settings import load_settings  # noqa: E402


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    configure_logging("warning")
    tmp = tempfile.mkdtemp(prefix="si-poll-")
    empty = Path(tmp) / "empty"
    empty.mkdir()
    app = create_replay_app(empty)
    async with serve_app(app) as base:
        # Mastodon: its min_id walk resumes where it stopped, so every published item is reached
        cfg = ConnectorSettings.model_validate({"name": "masto", "type": "mastodon", "base_url": f"{base}/mastodon",
                                                "query": ["lumetta"], "interval": "1m", "allow_private_hosts": True,
                                                "max_pages": 1000, "page_size": 40})
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
        store = app[REPLAY_STORE]
        start = datetime.now(UTC) - timedelta(hours=6)
        async with Poller(svc) as poller:
            store.add("mastodon", fresh_items("mastodon", 1, start - timedelta(minutes=1), tag="anchor"))
            r0 = await poller.poll(cfg)  # the first poll reads the newest page and sets the cursor
            store.add("mastodon", fresh_items("mastodon", args.n, start, tag="bench", step=0.5))
            got, polls, requests = 0, 0, 0
            t0 = time.perf_counter()
            while got < args.n and polls < 10_000:
                r = await poller.poll(cfg)
                polls += 1
                requests += r.get("requests", 0)
                got += r.get("ingested", 0)
                if not r.get("ok"):
                    print(json.dumps({"error": r}), file=sys.stderr)
                    break
                if r.get("ingested", 0) == 0 and r.get("fetched", 0) == 0:
                    break
            secs = time.perf_counter() - t0
        await svc.close()
    print(json.dumps({"benchmark": "poll", "connector": "mastodon", "n": args.n, "ingested": got,
                      "first_poll": r0.get("ingested"), "polls": polls, "requests": requests,
                      "seconds": round(secs, 2), "mentions_per_s": round(got / secs),
                      "database": url.split(":")[0], "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "env": {"python": platform.python_version(), "cpus": os.cpu_count()}}))


if __name__ == "__main__":
    asyncio.run(main())
