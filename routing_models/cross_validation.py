"""Leave-one-source-out cross-validation: each source family held out in turn, the model trained
on the rest, and the held-out family's labels scored. A family's style never helps predict its own
rows, so the figure says how the model does on a source it has never seen."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from joblib import Parallel, delayed  # type: ignore[import-untyped]  # joblib ships no type hints
from sklearn.metrics import accuracy_score, f1_score  # type: ignore[import-untyped]  # sklearn ships no type hints

from routing_models.data import source_group
from routing_models.train import fit_keep_oof, head_weights

__all__ = ["leave_one_source_out"]


def _fit(rows: Sequence[dict[str, Any]], params: dict[str, Any], seed: int) -> Any:
    pipeline, _ = fit_keep_oof(rows, params, seed)
    return pipeline


def _loso_fold(
    rows: Sequence[dict[str, Any]],
    groups: list[str],
    held: str,
    params: dict[str, Any],
    seed: int,
    emb: npt.NDArray[np.float32] | None = None,
    blend: dict[str, float] | None = None,
) -> tuple[list[str], list[str] | None]:
    """Labels predicted for the held-out family: the n-gram model's and, with embeddings and the
    blend's settings, the refined ones (an encoder head fitted on the same training rows)."""
    from routing_models.calibration import softmax
    from routing_models.refine import blend_scores, encoder_lr, full_scores

    train_idx = [i for i, g in enumerate(groups) if g != held]
    test_idx = [i for i, g in enumerate(groups) if g == held]
    train_rows = [rows[i] for i in train_idx]
    fold_params = {**params, "calibration": "none"}
    pipeline = _fit(train_rows, fold_params, seed)
    scores = pipeline.decision_function([str(rows[i]["text"]) for i in test_idx])
    classes = np.asarray(pipeline.classes_)
    fast = [str(c) for c in classes[scores.argmax(axis=1)]]
    if emb is None or blend is None:
        return fast, None
    y_idx = np.searchsorted(classes, [str(r["label"]) for r in train_rows])
    lr = encoder_lr(emb[train_idx], y_idx, head_weights(train_rows, params), float(blend["C"]))
    enc = full_scores(lr, emb[test_idx], len(classes))
    z = blend_scores(scores / float(blend["temperature_ngram"]), enc / float(blend["temperature_encoder"]),
                     float(blend["weight"]))
    # above the head's band the n-gram label stands (the fold has no Platt step: the temperature's confidence)
    sure = softmax(scores / float(blend["temperature_ngram"])).max(axis=1) >= float(blend.get("band", 1.0))
    return fast, [f if s else str(c) for f, s, c in zip(fast, sure, classes[z.argmax(axis=1)], strict=True)]


def _summary(
    rows: Sequence[dict[str, Any]], groups: list[str], held_out: list[str], preds: list[list[str]]
) -> dict[str, Any]:
    per_source: dict[str, Any] = {}
    y_all: list[str] = []
    p_all: list[str] = []
    dummy_all: list[str] = []
    for held, pred in zip(held_out, preds, strict=False):
        y = [str(r["label"]) for r, g in zip(rows, groups, strict=False) if g == held]
        train_labels = Counter(str(r["label"]) for r, g in zip(rows, groups, strict=False) if g != held)
        majority = max(sorted(train_labels), key=lambda lab: train_labels[lab])
        pred_list = [str(p) for p in pred]
        per_source[held] = {
            "n": len(y),
            "labels": dict(sorted(Counter(y).items())),
            "accuracy": float(accuracy_score(y, pred_list)),
            "macro_f1": float(f1_score(y, pred_list, average="macro", zero_division=0)),
        }
        y_all += y
        p_all += pred_list
        dummy_all += [majority] * len(y)
    by_label: defaultdict[str, list[bool]] = defaultdict(list)
    for truth, guess in zip(y_all, p_all, strict=False):
        by_label[truth].append(truth == guess)
    return {
        "per_source": per_source,
        "pooled": {
            "n": len(y_all),
            "accuracy": float(accuracy_score(y_all, p_all)),
            "macro_f1": float(f1_score(y_all, p_all, average="macro", zero_division=0)),
            "mean_source_accuracy": float(np.mean([v["accuracy"] for v in per_source.values()])),
            "recall_per_label": {k: float(np.mean(v)) for k, v in sorted(by_label.items())},
        },
        "dummy": {
            "accuracy": float(accuracy_score(y_all, dummy_all)),
            "macro_f1": float(f1_score(y_all, dummy_all, average="macro", zero_division=0)),
        },
    }


def leave_one_source_out(
    rows: Sequence[dict[str, Any]],
    *,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    families: Sequence[str] | None = None,
    n_jobs: int = 1,
    embeddings: npt.NDArray[np.float32] | None = None,
    blend: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Hold out each source family in turn (seed rows: one family per ``style``), train on the rest.

    Returns ``{"per_source": {family: {"n", "labels", "accuracy", "macro_f1"}}, "pooled": {"n",
    "accuracy", "macro_f1", "mean_source_accuracy"}, "dummy": {"accuracy", "macro_f1"}}``.
    Corrections are never held out.  ``families`` restricts which families are held out
    (all others stay in every training fold).  With ``embeddings`` (one row per training row) and
    ``blend`` (``weight``, ``C``, ``temperature_ngram``, ``temperature_encoder``: the full model's),
    ``"refined"`` holds the same summary for the refined labels, the encoder head refitted per fold.
    """
    rows = list(rows)
    groups = [source_group(r) for r in rows]
    held_out = sorted(set(families) if families is not None else set(groups) - {"correction"})
    folds = Parallel(n_jobs=n_jobs)(
        delayed(_loso_fold)(rows, groups, h, dict(params or {}), seed, embeddings, blend) for h in held_out
    )
    out = _summary(rows, groups, held_out, [fast for fast, _ in folds])
    if embeddings is not None and blend is not None:
        out["refined"] = _summary(rows, groups, held_out, [refined or [] for _, refined in folds])
    return out
