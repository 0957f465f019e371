"""Classifier benchmark: batch throughput, single-mention latency, load time and artifact size.

    python bench/classify.py [--artifact routing_models/artifacts/default.skops] [--texts FILE.jsonl]
                             [--n 20000] [--batch 1000] [--singles 2000] [--json]

Texts come from ``--texts`` (JSON Lines with ``text``) or, by default, the bundled seed corpus,
repeated up to ``--n``.  The process is pinned to one CPU (``sched_setaffinity``) so the numbers
are single-core.  Wall-clock figures are what a user sees; the ``*_cpu_*`` figures count only
the CPU time of this process and are stable on a busy machine.  Targets: ≥ 20,000 mentions/s, p99 < 5 ms, load < 1
s, artifact < 25 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from routing_models.data import SEED_PATH, load_jsonl  # noqa: E402
from routing_models.registry import default_artifact_path, load  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact", type=Path, default=default_artifact_path())
    parser.add_argument("--texts", type=Path, default=SEED_PATH)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the batch run")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    t0 = time.perf_counter()
    clf = load(args.artifact)
    load_s = time.perf_counter() - t0

    base = [str(r["text"]) for r in load_jsonl(args.texts, require_label=False)]
    texts = (base * (args.n // max(1, len(base)) + 1))[: args.n]
    clf.predict_proba(texts[:100])  # warm-up

    best = best_cpu = float("inf")
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), args.batch):
            clf.predict_proba(texts[i : i + args.batch])
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    throughput = len(texts) / best

    latencies, cpu_latencies = [], []
    for text in texts[: args.singles]:
        t0, c0 = time.perf_counter(), time.thread_time()
        clf.predict([text])
        latencies.append(time.perf_counter() - t0)
        cpu_latencies.append(time.thread_time() - c0)
    lat_ms = np.array(latencies) * 1000
    cpu_lat_ms = np.array(cpu_latencies) * 1000

    result = {
        "artifact": str(args.artifact),
        "model_version": clf.version,
        "n_texts": len(texts),
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "batch_size": args.batch,
        "throughput_per_s": round(throughput),
        "throughput_per_cpu_s": round(len(texts) / best_cpu),
        "single_p50_ms": round(float(np.percentile(lat_ms, 50)), 3),
        "single_p99_ms": round(float(np.percentile(lat_ms, 99)), 3),
        "single_cpu_p99_ms": round(float(np.percentile(cpu_lat_ms, 99)), 3),
        "load_s": round(load_s, 3),
        "artifact_mb": round(args.artifact.stat().st_size / 1e6, 2),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
