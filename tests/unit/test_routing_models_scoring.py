"""The compiled scorer gives the pipeline's scores without building the sparse matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]  # sklearn ships no type hints

from routing_models.data import SEED_PATH, load_jsonl
from routing_models.model import Classifier
from routing_models.pipeline import build_pipeline
from routing_models.registry import default_artifact_path, load
from routing_models.scoring import CompiledScorer

EDGE_TEXTS = [
    "",
    "   ",
    "!!!",
    "@acme",
    "x",
    "😡😡😡",
    "Il mio contatore non funziona da tre giorni, nessuno risponde al numero verde",
    "We are hiring a senior data engineer in Milan, apply by Friday",
    "Acme shares fell 8% after the CEO resigned",
    "Love the new espresso blend, can't wait for the summer edition! #coffee",
    "zzqxv qqqzv",  # n-grams no training row has: every bucket dropped
]


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    return [str(r["text"]) for r in load_jsonl(SEED_PATH)]


@pytest.fixture(scope="module")
def shipped() -> Classifier:
    return load(default_artifact_path())


def _fit(**params: Any) -> Pipeline:
    rows = load_jsonl(SEED_PATH)[::3]
    pipeline = build_pipeline(calibration_folds=2, max_iter=5, **params)
    pipeline.fit([str(r["text"]) for r in rows], [str(r["label"]) for r in rows])
    return pipeline


def test_shipped_model_scores_match_the_sparse_path(shipped: Classifier, seed_texts: list[str]) -> None:
    texts = seed_texts + EDGE_TEXTS
    scorer = CompiledScorer(shipped.pipeline)
    expected = shipped.pipeline.decision_function(texts)
    got = scorer.decision_function(texts)
    assert got.shape == expected.shape == (len(texts), 4)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    proba = scorer.predict_proba(texts)
    np.testing.assert_allclose(proba, shipped.pipeline.predict_proba(texts), atol=1e-5)
    assert (proba.argmax(axis=1) == expected.argmax(axis=1)).all()


def test_classifier_predicts_through_the_compiled_scorer(shipped: Classifier, seed_texts: list[str]) -> None:
    texts = seed_texts[:200]
    np.testing.assert_allclose(shipped.predict_proba(texts), shipped.pipeline.predict_proba(texts), atol=1e-5)
    assert isinstance(shipped._scorer, CompiledScorer)


def test_batch_equals_single(shipped: Classifier) -> None:
    scorer = CompiledScorer(shipped.pipeline)
    batch = scorer.decision_function(EDGE_TEXTS)
    singles = np.vstack([scorer.decision_function([t]) for t in EDGE_TEXTS])
    np.testing.assert_allclose(batch, singles, atol=1e-9)


def test_text_without_known_ngrams_scores_the_intercept(shipped: Classifier) -> None:
    scorer = CompiledScorer(shipped.pipeline)
    intercept = shipped.pipeline.named_steps["clf"].intercept_
    np.testing.assert_allclose(scorer.decision_function(["", "   "]), np.vstack([intercept, intercept]))


@pytest.mark.parametrize(
    "params",
    [
        {"lexicon_weight": 0.0},
        {"word_weight": 0.0},
        {"char_weight": 0.0},
        {"word_weight": 0.5, "char_weight": 2.0, "lexicon_weight": 1.5},
        {"word_ngram_range": (1, 1), "char_ngram_range": (2, 4), "word_n_features": 2**12},
    ],
)
def test_feature_variants_match_the_sparse_path(params: dict[str, Any], seed_texts: list[str]) -> None:
    pipeline = _fit(**params)
    texts = seed_texts[1::7] + EDGE_TEXTS
    np.testing.assert_allclose(
        CompiledScorer(pipeline).decision_function(texts), pipeline.decision_function(texts), atol=1e-4
    )
