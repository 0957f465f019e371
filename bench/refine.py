"""Refiner benchmark: the blend's cost per mention, and the background job's throughput end to end.

    python bench/refine.py [--texts FILE.jsonl] [--n 1000] [--items 2000] [--threads 1] [--json]

1. ``model``: ``Classifier.refined_proba`` (n-gram model + sentence encoder + head) on ``--n`` texts
   (default: the seed corpus) in the refiner's batches of 32, with ``--threads`` BLAS threads
   (``threadpoolctl``; 1 = one core; the encoder's onnxruntime session has one thread whatever it
   says), mentions per second wall and per CPU-second, how many of them
   were below the head's band and so embedded, and the encoder's load time (hash check included).
2. ``job``: ``--items`` seed texts imported into a fresh SQLite file, then ``Refiner.run_once`` until
   no candidate is left: items refined per second including the database work, and how many moved.

The refiner works in the background on new, unclaimed items, so its throughput bounds how quickly a
burst gets its second look, not how quickly mentions are routed (the n-gram model does that at ingest,
bench/classify.py).  Figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadpoolctl import threadpool_limits  # noqa: E402

from routing_models.data import SEED_PATH, load_jsonl  # noqa: E402
from routing_models.encoder_use import MultilingualEncoder  # noqa: E402
from routing_models.registry import default_artifact_path, load  # noqa: E402


def bench_model(texts: list[str], threads: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    encoder = MultilingualEncoder.load()
    load_s = time.perf_counter() - t0
    clf = load(default_artifact_path())
    clf.refined_proba(texts[:32], encoder)  # warm-up
    with threadpool_limits(limits=threads):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), 32):
            clf.refined_proba(texts[i : i + 32], encoder)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    band = float((clf.refiner or {}).get("band", 1.0))
    embedded = int((clf.predict_proba(texts).max(axis=1) < band).sum())
    return {"n": len(texts), "threads": threads, "band": band, "embedded": embedded,
            "per_second": round(len(texts) / wall, 1),
            "per_cpu_second": round(len(texts) / cpu, 1), "encoder_load_seconds": round(load_s, 2),
            "mean_chars": round(sum(map(len, texts)) / len(texts), 1)}


async def bench_job(texts: list[str], threads: int) -> dict[str, Any]:
    from connectors.base import Mention
    from inbox.ops.services import Services
    from inbox.settings import DEFAULT_CONFIG, load_settings
    from inbox.storage import migrate
    from inbox.storage.repo import accounts

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(DEFAULT_CONFIG, {"database_url": f"sqlite+aiosqlite:///{tmp}/bench.db",
                                                  "model_dir": f"{tmp}/models", "log_level": "warning"})
        svc = await Services.open(settings)
        try:
            await migrate.upgrade(svc.engine)
            async with svc.engine.begin() as conn:
                await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
            pipe = await svc.ready_pipeline()
            for i in range(0, len(texts), 500):
                await pipe.ingest([Mention(source="bench", platform="bench", external_id=str(i + j), text=t)
                                   for j, t in enumerate(texts[i : i + 500])])
            refiner = await svc.ready_refiner()
            await refiner.encoder.get()  # load outside the timing
            looked = rescored = moved = 0
            with threadpool_limits(limits=threads):
                t0, c0 = time.perf_counter(), time.process_time()
                while (res := await refiner.run_once()).looked_at:
                    looked, rescored, moved = looked + res.looked_at, rescored + res.rescored, moved + res.rerouted
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        finally:
            await svc.close()
    return {"items": len(texts), "looked_at": looked, "rescored": rescored, "rerouted": moved,
            "per_second": round(looked / wall, 1), "per_cpu_second": round(looked / cpu, 1),
            "batch_size": settings.refiner.batch_size}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=Path, default=SEED_PATH)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = [str(r["text"]) for r in load_jsonl(args.texts, require_label=False)]

    def take(n: int) -> list[str]:
        return (base * (n // max(1, len(base)) + 1))[:n]

    out = {"model": bench_model(take(args.n), args.threads),
           "job": asyncio.run(bench_job(take(args.items), args.threads))}
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
