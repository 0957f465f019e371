"""The scikit-learn pipeline: normalise → hashed word/char n-gram TF-IDF + cue lexicons → calibrated LR.

``build_pipeline(**params)`` returns an unfitted :class:`sklearn.pipeline.Pipeline` with three steps:

* ``normalize`` – :class:`~routing_models.features.TextNormalizer` (``routing_models.normalize.normalize``
  on every text);
* ``features``  – :class:`~routing_models.features.MentionFeaturizer`: hashed word 1–2-grams and
  character 3–5-grams, each block IDF-weighted and L2-normalised, plus 26 cue-group counts
  (``routing_models.lexicon``);
* ``clf``       – :class:`~routing_models.calibration.CalibratedLinearClassifier`: logistic regression
  (averaged SGD by default) whose probabilities are temperature-scaled and then top-label
  Platt-scaled; both are fitted on out-of-fold predictions (grouped by source family when
  ``groups`` are passed, so they reflect *cross-source* confidence).

Fit with ``pipeline.fit(texts, labels, features__groups=g, clf__sample_weight=w, clf__groups=g)``
(:func:`routing_models.train.train` does this).

Custom estimators follow the scikit-learn conventions: ``__init__`` only stores its arguments,
fitted attributes end with ``_``.
"""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]  # sklearn ships no type hints

# the classes are re-exported here: artifacts saved before the split name them under this module
from routing_models.calibration import CalibratedLinearClassifier, softmax
from routing_models.features import MentionFeaturizer, TextNormalizer

__all__ = [
    "DEFAULT_PARAMS",
    "TextNormalizer",
    "MentionFeaturizer",
    "CalibratedLinearClassifier",
    "build_pipeline",
    "softmax",
]


# Defaults chosen by ``python -m routing_models.select`` (leave-one-source-out CV); see docs/classifier.md.
DEFAULT_PARAMS: dict[str, Any] = {
    "word_ngram_range": (1, 2),
    "char_ngram_range": (3, 5),
    "word_n_features": 2**18,
    "char_n_features": 2**20,
    "word_weight": 1.0,
    "char_weight": 1.0,
    "lexicon_weight": 1.0,
    "min_df": 2,
    "min_groups": 1,
    "C": 2.0,
    "solver": "sgd",
    "max_iter": 50,
    "calibration": "temperature+platt",
    "calibration_folds": 5,
}

_FEATURE_KEYS = (
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
_CLF_KEYS = ("C", "solver", "calibration", "calibration_folds", "max_iter", "random_state", "class_bias")



def build_pipeline(**params: Any) -> Pipeline:
    """Return the unfitted pipeline; ``params`` override :data:`DEFAULT_PARAMS` (unknown keys raise)."""
    merged = {**DEFAULT_PARAMS, **params}
    unknown = set(merged) - set(_FEATURE_KEYS) - set(_CLF_KEYS)
    if unknown:
        raise TypeError(f"unknown pipeline parameter(s): {sorted(unknown)}")
    features = MentionFeaturizer(**{k: _tuple(merged[k]) for k in _FEATURE_KEYS if k in merged})
    clf = CalibratedLinearClassifier(**{k: merged[k] for k in _CLF_KEYS if k in merged})
    return Pipeline([("normalize", TextNormalizer()), ("features", features), ("clf", clf)])


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value

