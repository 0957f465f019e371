"""Pinned outputs of the classifier's featurising and scoring, so that a change made for speed
cannot change a prediction unnoticed.

Two sets of pins: a small model fitted here on the first rows of the bundled seed corpus (rows
added at its end do not move it, nor does a rebuilt shipped artifact; a change to the features or
the training on purpose has to re-pin it), and the shipped artifact's probabilities for its version
(skipped for another version: re-pin them when the artifact is rebuilt on purpose)."""

from __future__ import annotations

import numpy as np
import pytest

from routing_models import normalize as normalize_module
from routing_models.data import SEED_PATH, load_jsonl
from routing_models.normalize import normalize
from routing_models.pipeline import build_pipeline
from routing_models.registry import default_artifact_path, load
from routing_models.scoring import CompiledScorer

TEXTS = [
    "@AcmeHelp il mio ordine #12345 è arrivato rotto!!! 😡 https://t.co/x",
    "Perché la bolletta è così alta? Già pagato… “assurdo”",
    "We are hiring a senior data engineer in Milan, apply by Friday",
    "Acme shares fell 8% after the CEO resigned",
    "Love the new espresso blend, can't wait for the summer edition! #coffee ☕️",
    "Ça ne marche pas, le café est trop cher ©™ ½",
    "My kettle caught fire this morning, dangerous product",
]

NORMALISED = [
    "xreply il mio ordine 00000 e arrivato rotto! xemoji xurl",
    "perche la bolletta e cosi alta? gia pagato. assurdo",
    "we are hiring a senior data engineer in milan, apply by friday",
    "acme shares fell 0% after the ceo resigned",
    "love the new espresso blend, can not wait for the summer edition! coffee xemoji",
    "ca ne marche pas, le cafe est trop cher ½",
    "my kettle caught fire this morning, dangerous product",
]

FITTED_ROWS = 1760  # the seed corpus's first rows
FITTED_CLASSES = ["customer_care", "hr", "marketing", "pr"]
FITTED_PROBA = [
    [0.999082, 0.000166, 0.000375, 0.000378],
    [0.843655, 0.017025, 0.059815, 0.079505],
    [0.000025, 0.999896, 0.000038, 0.000040],
    [0.000201, 0.012712, 0.000072, 0.987014],
    [0.003773, 0.002877, 0.990916, 0.002434],
    [0.046384, 0.125309, 0.632484, 0.195822],
    [0.591385, 0.214325, 0.136594, 0.057696],
]

SHIPPED_VERSION = "m-20261207-12d199cd"
SHIPPED_LABELS = ["customer_care", "hr", "marketing", "pr"]
SHIPPED_PROBA = [
    [0.996468, 0.000326, 0.002588, 0.000617],
    [0.830227, 0.031222, 0.076764, 0.061786],
    [0.000273, 0.999196, 0.000225, 0.000307],
    [0.000284, 0.008085, 0.000116, 0.991515],
    [0.028302, 0.006412, 0.957336, 0.007950],
    [0.184489, 0.040470, 0.658679, 0.116362],
    [0.408141, 0.111348, 0.263082, 0.217430],
]


def test_normalised_texts_are_pinned() -> None:
    assert [normalize(t) for t in TEXTS] == NORMALISED


def test_fast_fold_equals_str_translate() -> None:
    """The byte-level fold gives what ``str.translate`` with the fold table gives, on every
    character the table knows and on others (CJK, Greek, lone surrogates, combining marks)."""
    table = normalize_module._FOLD
    chars = "".join(chr(c) for c in sorted(table)) + "中文 αβ ж \u0301\u0308 \ud800 \udfff ½ ² Ⅳ 𝟘 ٣ \x00"
    samples = [chars, chars[::-1], "ascii only 123 `x` \"q\"", "", "é", "café “x” 1…2", *TEXTS]
    for text in samples:
        assert normalize_module._fold(text) == text.translate(table)


def test_emoji_threshold_is_the_lowest_emoji_character() -> None:
    lowest = min(c for c in map(chr, range(0x110000)) if normalize_module._EMOJI_RE.fullmatch(c))
    assert lowest == normalize_module._EMOJI_MIN


def test_fitted_model_predictions_are_pinned() -> None:
    rows = load_jsonl(SEED_PATH)[:FITTED_ROWS:3]
    pipeline = build_pipeline(calibration_folds=2, max_iter=5)
    pipeline.fit([str(r["text"]) for r in rows], [str(r["label"]) for r in rows])
    assert list(pipeline.classes_) == FITTED_CLASSES
    np.testing.assert_allclose(pipeline.predict_proba(TEXTS), FITTED_PROBA, atol=2e-6)
    np.testing.assert_allclose(CompiledScorer(pipeline).predict_proba(TEXTS), FITTED_PROBA, atol=2e-6)


def test_shipped_model_predictions_are_pinned() -> None:
    clf = load(default_artifact_path())
    if clf.version != SHIPPED_VERSION:
        pytest.skip(f"the pins are for {SHIPPED_VERSION}, the shipped artifact is {clf.version}")
    assert clf.labels == SHIPPED_LABELS
    np.testing.assert_allclose(clf.predict_proba(TEXTS), SHIPPED_PROBA, atol=2e-6)
    got = clf.predict(TEXTS)
    assert [p.label for p in got] == [SHIPPED_LABELS[int(np.argmax(r))] for r in SHIPPED_PROBA]
