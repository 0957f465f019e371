"""Pinned outputs of the classifier's featurising and scoring, so that a change made for speed
cannot change a prediction unnoticed.

Two sets of pins: a small model fitted here on the bundled seed corpus (it does not depend on the
shipped artifact, which other work rebuilds), and the shipped artifact's probabilities for its
version (skipped for another version: re-pin them when the artifact is rebuilt on purpose)."""

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

FITTED_CLASSES = ["customer_care", "hr", "marketing", "pr"]
FITTED_PROBA = [
    [0.996422, 0.000642, 0.001619, 0.001317],
    [0.832330, 0.020707, 0.063705, 0.083257],
    [0.000703, 0.998585, 0.000354, 0.000358],
    [0.000711, 0.018546, 0.000250, 0.980493],
    [0.004549, 0.004249, 0.986700, 0.004503],
    [0.025190, 0.152455, 0.515587, 0.306768],
    [0.647861, 0.146291, 0.147083, 0.058765],
]

SHIPPED_VERSION = "m-20261205-b62b9c27"
SHIPPED_LABELS = ["customer_care", "hr", "marketing", "pr"]
SHIPPED_PROBA = [
    [0.995453, 0.000375, 0.003565, 0.000607],
    [0.804871, 0.034922, 0.101101, 0.059105],
    [0.000803, 0.997265, 0.000447, 0.001485],
    [0.000585, 0.006094, 0.000184, 0.993137],
    [0.030484, 0.006967, 0.952726, 0.009823],
    [0.137510, 0.074140, 0.694545, 0.093805],
    [0.142860, 0.086856, 0.604782, 0.165502],
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
    rows = load_jsonl(SEED_PATH)[::3]
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
