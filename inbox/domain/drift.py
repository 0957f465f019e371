"""The drift alarm: the model's accuracy as agents' corrections measure it, over the last seven days,
against the accuracy its evaluation promised. Pure functions.

Agents' transfers are the only labels the inbox gets back, so the accuracy from corrections is the
one figure that follows the mentions as they change; when it falls ``drop`` (5 points) below the
evaluation, the mentions no longer look like what the model was measured on and it is time to
retrain with the corrections. Too few judged items say nothing: no alarm below ``min_judged``.
"""
from __future__ import annotations

from typing import Any

__all__ = ["DRIFT_WINDOW_DAYS", "reference_accuracy", "drift_alarm"]

DRIFT_WINDOW_DAYS = 7
# the evaluation a model's promise is read from, in order: the cross-source file, the in-source one,
# then the training rows scored by the folds that did not see their source
_REFERENCES = ("dev_crosssource", "dev", "source_folds")


def reference_accuracy(metadata: dict[str, Any] | None) -> tuple[str, float] | None:
    """(evaluation name, accuracy) of a model's metadata, or None when it records no evaluation."""
    evaluation = (metadata or {}).get("evaluation") or {}
    names = [n for n in _REFERENCES if n in evaluation] + sorted(set(evaluation) - set(_REFERENCES))
    for name in names:
        figures = evaluation[name]
        if isinstance(figures, dict) and isinstance(figures.get("accuracy"), (int, float)):
            return name, float(figures["accuracy"])
    return None


def drift_alarm(judged: int, corrected: int, reference: tuple[str, float] | None, *, drop: float = 0.05,
                min_judged: int = 50) -> dict[str, Any]:
    """The alarm's figures: accuracy from corrections, the evaluation it is compared with, the
    threshold (evaluation minus ``drop``) and whether it went off."""
    accuracy = 1 - corrected / judged if judged else None
    name, promised = reference if reference is not None else (None, None)
    threshold = promised - drop if promised is not None else None
    alarm = (accuracy is not None and threshold is not None and judged >= min_judged
             and accuracy < threshold)
    return {"window_days": DRIFT_WINDOW_DAYS, "judged": judged, "corrected": corrected,
            "accuracy": round(accuracy, 4) if accuracy is not None else None,
            "evaluation": name, "evaluation_accuracy": round(promised, 4) if promised is not None else None,
            "threshold": round(threshold, 4) if threshold is not None else None,
            "min_judged": min_judged, "alarm": alarm}
