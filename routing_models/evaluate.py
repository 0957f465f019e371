"""Evaluation with the ``model evaluate --json`` contract of docs/design.md, plus ECE and a dummy floor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sklearn.dummy import DummyClassifier  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support  # type: ignore[import-untyped]  # sklearn ships no type hints

from routing_models.lang import detect_language

__all__ = ["evaluate", "expected_calibration_error", "dummy_scores", "source_folds_evaluation"]


class _Model(Protocol):
    version: str
    labels: list[str]
    metadata: dict[str, Any]

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]: ...


def expected_calibration_error(
    proba: npt.NDArray[np.float64], y_true_idx: npt.NDArray[np.int64], n_bins: int = 10
) -> float:
    """Top-label ECE: Σ_bins (n_bin / n) · |accuracy_bin − mean confidence_bin|, equal-width bins."""
    if proba.shape[0] == 0:
        return 0.0
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true_idx).astype(np.float64)
    bins = np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def dummy_scores(train_label_counts: dict[str, int], y_true: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    """Accuracy / macro-F1 of ``DummyClassifier(strategy="prior")`` fitted on the training class prior.

    The prior strategy always predicts the most frequent training label; when the training
    counts are unknown the evaluation set's own prior is used.
    """
    counts = {label: int(train_label_counts.get(label, 0)) for label in labels}
    if sum(counts.values()) == 0:
        counts = {label: sum(1 for y in y_true if y == label) for label in labels}
    y_fit = [label for label, n in counts.items() for _ in range(n)]
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((len(y_fit), 1)), y_fit)
    pred = dummy.predict(np.zeros((len(y_true), 1)))
    return {
        "accuracy": float(accuracy_score(y_true, pred)),
        "macro_f1": float(f1_score(y_true, pred, labels=list(labels), average="macro", zero_division=0)),
    }


def _macro_f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Macro-F1 over the labels present in ``y_true`` or ``y_pred`` (scikit-learn's default)."""
    if not y_true:
        return 0.0
    present = sorted(set(y_true) | set(y_pred))
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


def evaluate(clf: _Model, rows: Sequence[dict[str, Any]], encoder: Any = None) -> dict[str, Any]:
    """Score ``clf`` on rows with ``text`` and ``label`` (optional ``lang``; detected when missing).

    Returns ``{"n", "accuracy", "macro_f1", "per_class", "per_lang", "confusion", "model_version",
    "ece", "dummy", "stage"}``; ``per_class[label]`` has ``precision``, ``recall``, ``f1``, ``support``;
    ``per_lang[lang]`` has ``n`` and ``macro_f1`` (undetectable language → ``"unknown"``); macro-F1
    averages over the labels present in the truth or the predictions;
    ``confusion`` is ``{"labels", "matrix"}`` with rows = true label, columns = predicted label.

    With an ``encoder`` and a model that has a refiner head, the figures are the refined labels'
    (``"stage": "refined"``: what an item ends up with once the background refiner has seen it) and
    ``"fast"`` holds the n-gram model's own ``accuracy``, ``macro_f1``, ``ece`` and ``per_lang``
    (the label an item gets at ingest).  Otherwise ``"stage": "fast"``.
    """
    labels = list(clf.labels)
    texts = [str(r["text"]) for r in rows]
    y_true = [str(r["label"]) for r in rows]
    unknown = sorted(set(y_true) - set(labels))
    if unknown:
        raise ValueError(f"labels not known to the model: {unknown}")
    langs = [r.get("lang") or detect_language(t) or "unknown" for r, t in zip(rows, texts, strict=False)]
    fast = clf.predict_proba(texts)
    refine = encoder is not None and getattr(clf, "refiner", None) is not None
    proba = clf.refined_proba(texts, encoder) if refine else fast  # type: ignore[attr-defined]
    out = _scores(labels, y_true, langs, proba)
    train_counts = clf.metadata.get("label_counts", {}) if isinstance(clf.metadata, dict) else {}
    out["model_version"] = clf.version
    out["dummy"] = dummy_scores(train_counts, y_true, labels) if rows else {"accuracy": 0.0, "macro_f1": 0.0}
    out["stage"] = "refined" if refine else "fast"
    if refine:
        first = _scores(labels, y_true, langs, fast)
        out["fast"] = {k: first[k] for k in ("accuracy", "macro_f1", "ece", "per_lang")}
    return out


def _scores(labels: list[str], y_true: list[str], langs: list[str], proba: npt.NDArray[np.float64]) -> dict[str, Any]:
    y_pred = [labels[i] for i in proba.argmax(axis=1)] if len(y_true) else []
    y_idx = np.array([labels.index(y) for y in y_true], dtype=np.int64)
    n = len(y_true)
    if n:
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=0
        )
    else:
        precision = recall = f1 = support = np.zeros(len(labels))
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    per_lang: dict[str, dict[str, Any]] = {}
    for lang in sorted(set(langs)):
        idx = [i for i, lg in enumerate(langs) if lg == lang]
        yt = [y_true[i] for i in idx]
        yp = [y_pred[i] for i in idx]
        per_lang[lang] = {"n": len(idx), "macro_f1": _macro_f1(yt, yp)}
    matrix = confusion_matrix(y_true, y_pred, labels=labels).tolist() if n else [[0] * len(labels) for _ in labels]
    return {
        "n": n,
        "accuracy": float(accuracy_score(y_true, y_pred)) if n else 0.0,
        "macro_f1": _macro_f1(y_true, y_pred),
        "per_class": per_class,
        "per_lang": per_lang,
        "confusion": {"labels": labels, "matrix": [[int(v) for v in row] for row in matrix]},
        "ece": expected_calibration_error(proba, y_idx) if n else 0.0,
    }


def source_folds_evaluation(
    rows: Sequence[dict[str, Any]], classes: Any, scores: npt.NDArray[np.float64]
) -> dict[str, Any]:
    """Accuracy and macro-F1 of the first labels on the training rows, each scored by the model of the
    calibration fold that did not see its source family: every version gets a cross-source figure
    even when it was trained without evaluation files."""
    truth = [str(r["label"]) for r in rows]
    guess = [str(c) for c in np.asarray(classes)[np.argmax(scores, axis=1)]]
    return {
        "stage": "first",
        "n": len(truth),
        "accuracy": round(float(accuracy_score(truth, guess)), 4),
        "macro_f1": round(float(f1_score(truth, guess, average="macro")), 4),
    }
