"""Model selection by leave-one-source-out (LOSO) cross-validation over a small grid.

    python -m routing_models.select [--shared ../shared/data/mentions] [--n-jobs 2] [--configs NAME ...]

Every configuration is trained on seed + ``train.jsonl`` minus one source family and scored on
that family; seed rows form one family per ``style``.  The table reports the pooled LOSO
macro-F1 over all held-out rows, the mean per-family accuracy (each source counts once),
the LOSO macro-F1 of Italian rows, and – for information only, *not* used for the choice –
the scores on ``dev.jsonl`` and ``dev_crosssource.jsonl`` of a model trained on everything.
The LOSO folds are scored on predicted labels without calibration, so calibration settings only
show up in the dev columns (ECE).

To keep the grid affordable the features of each featurizer configuration are computed once
on all rows (IDF and the ``min_df`` column filter then also see the held-out family's texts;
n-grams that occur only there get no weight because no training row contains them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed  # type: ignore[import-untyped]  # joblib ships no type hints
from sklearn.metrics import f1_score  # type: ignore[import-untyped]  # sklearn ships no type hints

from routing_models.calibration import CalibratedLinearClassifier
from routing_models.data import SEED_PATHS, load_jsonl, source_group
from routing_models.evaluate import expected_calibration_error
from routing_models.features import MentionFeaturizer, TextNormalizer
from routing_models.train import sample_weights, split_params

__all__ = ["GRID", "run", "main"]

#: name → parameter overrides of the defaults; "plain" is the naive baseline.
GRID: dict[str, dict[str, Any]] = {
    "default": {},
    "plain (alpha=1, no lexicon, no seed)": {"source_alpha": 1.0, "lexicon_weight": 0.0, "_no_seed": True},
    "no seed": {"_no_seed": True},
    "no lexicon": {"lexicon_weight": 0.0},
    "lexicon x2": {"lexicon_weight": 2.0},
    "alpha=0 (families equal)": {"source_alpha": 0.0},
    "alpha=1 (no source balance)": {"source_alpha": 1.0},
    "seed_weight=2": {"seed_weight": 2.0},
    "C=0.5": {"C": 0.5},
    "C=8": {"C": 8.0},
    "word n-grams only (no char)": {"char_weight": 0.0},
    "min_groups=3": {"min_groups": 3},
    "calibration=temperature (no Platt)": {"calibration": "temperature"},
}

_FEATURIZER_KEYS = (
    "word_ngram_range",
    "char_ngram_range",
    "word_n_features",
    "char_n_features",
    "word_weight",
    "char_weight",
    "lexicon_weight",
    "min_df",
    "min_groups",
)


def _clf_params(params: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    keys = ("C", "solver", "max_iter", "calibration", "calibration_folds", "class_bias")
    return {**{k: params[k] for k in keys if k in params}, **overrides}


def _fold(
    X: Any, y: np.ndarray, w: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray, clf_params: dict[str, Any]
) -> np.ndarray:
    clf = CalibratedLinearClassifier(**clf_params)
    clf.fit(X[train_idx], y[train_idx], sample_weight=w)
    return np.asarray(clf.predict(X[test_idx]))


def run(
    rows: list[dict[str, Any]],
    dev_sets: dict[str, list[dict[str, Any]]],
    configs: dict[str, dict[str, Any]],
    n_jobs: int = 1,
    log: Any = sys.stderr,
) -> list[dict[str, Any]]:
    """Run LOSO for each config; return one result dict per config."""
    results = []
    feature_cache: dict[str, Any] = {}
    for name, overrides in configs.items():
        t0 = time.time()
        no_seed = bool(overrides.get("_no_seed"))
        params = {k: v for k, v in overrides.items() if not k.startswith("_")}
        pipe_params, train_params = split_params(params)
        all_params = {**pipe_params, **train_params}
        use = [i for i, r in enumerate(rows) if not (no_seed and source_group(r).startswith("seed:"))]
        fold_rows = [rows[i] for i in use]
        feat_params: dict[str, Any] = {
            k: tuple(pipe_params[k]) if isinstance(pipe_params[k], list) else pipe_params[k] for k in _FEATURIZER_KEYS
        }
        key = json.dumps([feat_params, no_seed], sort_keys=True, default=str)
        if key not in feature_cache:
            docs = TextNormalizer().transform([r["text"] for r in fold_rows])
            featurizer = MentionFeaturizer(**feat_params).fit(docs, groups=[source_group(r) for r in fold_rows])
            feature_cache = {key: (featurizer, featurizer.transform(docs))}
        featurizer, X = feature_cache[key]
        y = np.array([r["label"] for r in fold_rows])
        groups = np.array([source_group(r) for r in fold_rows])
        # held-out families: every shared-corpus family and every seed style (seed only if used)
        held = sorted(set(groups))
        jobs = []
        for h in held:
            train_idx = np.flatnonzero(groups != h)
            test_idx = np.flatnonzero(groups == h)
            w = sample_weights([fold_rows[i] for i in train_idx], all_params)
            jobs.append((train_idx, test_idx, w))
        preds = Parallel(n_jobs=n_jobs)(
            delayed(_fold)(X, y, w, tr, te, _clf_params(all_params, calibration="none")) for tr, te, w in jobs
        )
        oof = np.empty(len(fold_rows), dtype=object)
        per_family = {}
        per_family_errors: dict[str, dict[str, int]] = {}
        for h, (_tr, te, _), p in zip(held, jobs, preds, strict=False):
            oof[te] = p
            per_family[h] = float(np.mean(p == y[te]))
            per_family_errors[h] = dict(
                sorted(Counter(f"{a}->{b}" for a, b in zip(y[te], p, strict=False) if a != b).items())
            )
        is_it = np.array([r.get("lang") == "it" for r in fold_rows])
        shared = np.array([not g.startswith("seed:") for g in groups])
        # full model (with calibration) for the dev sets – information only
        full = CalibratedLinearClassifier(**_clf_params(all_params))
        full.fit(X, y, sample_weight=sample_weights(fold_rows, all_params), groups=groups)
        dev_scores = {}
        for dev_name, dev_rows in dev_sets.items():
            Xd = featurizer.transform(TextNormalizer().transform([r["text"] for r in dev_rows]))
            yd = np.array([r["label"] for r in dev_rows])
            proba = full.predict_proba(Xd)
            pd_ = full.classes_[proba.argmax(1)]
            itd = np.array([r.get("lang") == "it" for r in dev_rows])
            dev_scores[dev_name] = {
                "macro_f1": float(f1_score(yd, pd_, average="macro")),
                "it_macro_f1": float(f1_score(yd[itd], pd_[itd], average="macro")) if itd.any() else None,
                "ece": expected_calibration_error(proba, np.searchsorted(full.classes_, yd)),
            }
        result = {
            "config": name,
            "params": overrides,
            "loso_macro_f1": float(f1_score(y, oof.astype(str), average="macro")),
            "loso_shared_macro_f1": float(f1_score(y[shared], oof[shared].astype(str), average="macro")),
            "loso_it_macro_f1": float(f1_score(y[is_it], oof[is_it].astype(str), average="macro")),
            "mean_family_accuracy": float(np.mean(list(per_family.values()))),
            "per_family_accuracy": per_family,
            "per_family_errors": per_family_errors,
            "temperature": full.temperature_,
            "dev": dev_scores,
            "seconds": round(time.time() - t0, 1),
        }
        results.append(result)
        print(_row(result), file=log, flush=True)
    return results


def _row(r: dict[str, Any]) -> str:
    dev = r["dev"].get("dev", {})
    dcs = r["dev"].get("dev_crosssource", {})

    def f(x: Any) -> str:
        return "  -  " if x is None else f"{x:.3f}"

    return (
        f"| {r['config']:<38} | {f(r['loso_macro_f1'])} | {f(r['loso_shared_macro_f1'])} | "
        f"{f(r['mean_family_accuracy'])} | {f(r['loso_it_macro_f1'])} | {f(dev.get('macro_f1'))} | "
        f"{f(dcs.get('macro_f1'))} | {f(dcs.get('it_macro_f1'))} | {f(dcs.get('ece'))} |"
    )


HEADER = (
    "| config | LOSO macro-F1 (all) | LOSO macro-F1 (shared sources) | mean family acc | LOSO IT macro-F1 "
    "| dev F1 | dev_cs F1 | dev_cs IT F1 | dev_cs ECE |\n|---|---|---|---|---|---|---|---|---|"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routing_models.select", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data/mentions"))
    parser.add_argument(
        "--seed-file", type=Path, nargs="+", default=list(SEED_PATHS), help="default: every bundled seed file"
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--configs", nargs="*", help="names from the grid (default: all)")
    parser.add_argument("--json", type=Path, help="also write the full results here")
    args = parser.parse_args(argv)
    rows = [r for path in args.seed_file for r in load_jsonl(path)] + load_jsonl(args.shared / "train.jsonl")
    dev_sets = {}
    for name in ("dev", "dev_crosssource"):
        path = args.shared / f"{name}.jsonl"
        if path.exists():
            dev_sets[name] = load_jsonl(path)
    configs = {k: v for k, v in GRID.items() if not args.configs or k in args.configs}
    print(HEADER, flush=True)
    results = run(rows, dev_sets, configs, n_jobs=args.n_jobs, log=sys.stdout)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
