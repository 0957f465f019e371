"""Ingest benchmark: N mentions made by resampling corpus texts with unique ids, imported through
the real pipeline on a fresh database; prints end-to-end mentions/s, classifier-only mentions/s on
the same texts in the same run, their ratio, and peak RSS.

    python bench/ingest.py --n 100000 [--database-url URL] [--batch 2000] [--corpus FILE] [--no-lang]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.base import Mention  # noqa: E402
from inbox.ops.logs import configure_logging  # noqa: E402
from inbox.ops.services import Services  # noqa: E402
from inbox.settings import load_settings  # noqa: E402
from inbox.storage import migrate  # noqa: E402
from inbox.storage.repo import accounts  # noqa: E402


def corpus_texts(paths: list[Path]) -> list[tuple[str, str | None]]:
    out = []
    for p in paths:
        if p.exists():
            for line in p.open(encoding="utf-8"):
                if line.strip():
                    d = json.loads(line)
                    out.append((d["text"], d.get("lang")))
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--database-url")
    ap.add_argument("--dup", type=float, default=0.0, help="fraction of re-sent duplicates")
    ap.add_argument("--corpus", action="append", type=Path)
    ap.add_argument("--no-lang", action="store_true",
                    help="drop the corpus' language tags, so every mention goes through language detection "
                         "(as file imports, RSS, Reddit and Hacker News mentions do)")
    args = ap.parse_args()
    configure_logging("warning")
    corpus = args.corpus or [ROOT / "routing_models" / "data" / "seed.jsonl",
                             ROOT.parent / "shared" / "data" / "mentions" / "train.jsonl"]
    texts = corpus_texts(corpus)
    rnd = random.Random(7)
    sample = [texts[rnd.randrange(len(texts))] for _ in range(args.n)]
    tmp = tempfile.mkdtemp(prefix="si-bench-")
    url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
    settings = load_settings(ROOT / "config" / "inbox.toml", {"database_url": url, "model_dir": f"{tmp}/models",
                                                               "log_level": "warning"})
    svc = await Services.open(settings)
    await migrate.upgrade(svc.engine)
    async with svc.engine.begin() as conn:
        await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
    await svc.install_default_model()
    holder = await svc.load_model()
    pipeline = await svc.ready_pipeline()

    # classifier-only rate on the same texts (one process, same batches)
    t0 = time.perf_counter()
    for i in range(0, args.n, args.batch):
        holder.predict([t for t, _ in sample[i:i + args.batch]])
    clf_rate = args.n / (time.perf_counter() - t0)

    mentions = [Mention(source="bench", platform="import", external_id=f"b{i}", text=t,
                        language=None if args.no_lang else lang)
                for i, (t, lang) in enumerate(sample)]
    def batches() -> Iterator[tuple[list[Mention], list[Any], None]]:
        for i in range(0, args.n, args.batch):
            chunk = mentions[i:i + args.batch]
            if args.dup:
                chunk = chunk + rnd.sample(mentions[:i + len(chunk)], int(len(chunk) * args.dup))
            yield chunk, [], None

    ingested = 0
    cpu0 = time.process_time()  # every thread of the process: the loop, the SQLite driver's, the classifier's
    t0 = time.perf_counter()
    # as `social-inbox import` does: batch N+1 is classified and routed while batch N is written
    async for res in pipeline.ingest_stream(batches()):
        ingested += res.ingested
    e2e = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    e2e_rate = args.n / e2e
    await svc.close()
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "n": args.n,
                "ingested": ingested,
                "database": url.split(":")[0],
                "batch": args.batch,
                "language_tags": not args.no_lang,
                "end_to_end_per_s": round(e2e_rate),
                "classifier_only_per_s": round(clf_rate),
                "ratio": round(e2e_rate / clf_rate, 3),
                "cpu_s_per_1000": round(1000 * cpu / args.n, 3),
                "load_average": os.getloadavg(),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "seconds": round(e2e, 1),
                "model_version": holder.version,
                "env": {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()},
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
