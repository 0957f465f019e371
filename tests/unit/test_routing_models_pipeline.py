"""Pipeline, training, prediction, explanation and evaluation tests (small models on the seed corpus)."""

from __future__ import annotations

import datetime as _dt
import random
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]  # sklearn ships no type hints

from routing_models.data import LABELS, SEED_PATH, load_jsonl
from routing_models.evaluate import evaluate, expected_calibration_error
from routing_models.fake import FakeClassifier
from routing_models.model import Classifier, Prediction
from routing_models.pipeline import MentionFeaturizer, TextNormalizer, build_pipeline
from routing_models.train import lexicon_hash, make_version, sample_weights, train

CONTRACT_KEYS = {"n", "accuracy", "macro_f1", "per_class", "per_lang", "confusion", "model_version"}


def _split(rows: list[dict[str, Any]], seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    shuffled = rows[:]
    rng.shuffle(shuffled)
    cut = int(len(shuffled) * 0.8)
    return shuffled[:cut], shuffled[cut:]


@pytest.fixture(scope="module")
def seed_split() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return _split(load_jsonl(SEED_PATH))


@pytest.fixture(scope="module")
def clf(seed_split: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> Classifier:
    return train(seed_split[0], seed=0)


def test_build_pipeline_returns_unfitted_pipeline() -> None:
    """build_pipeline gives a clonable Pipeline whose params round-trip and reject unknown keys."""
    pipe = build_pipeline(C=2.0, min_df=1)
    assert isinstance(pipe, Pipeline)
    assert [name for name, _ in pipe.steps] == ["normalize", "features", "clf"]
    assert pipe.get_params()["clf__C"] == 2.0
    assert clone(pipe).get_params()["features__min_df"] == 1
    with pytest.raises(TypeError):
        build_pipeline(no_such_param=1)


def test_featurizer_batch_equals_single() -> None:
    """A text gets the same feature vector whether transformed alone or inside a batch."""
    rows = load_jsonl(SEED_PATH)[:300]
    docs = TextNormalizer().transform([r["text"] for r in rows])
    feat = MentionFeaturizer(min_df=1).fit(docs)
    batch = feat.transform(docs)
    for i in (0, 17, 299):
        single = feat.transform([docs[i]])
        assert abs(batch[i] - single).max() < 1e-12
        word_entries = single.data[single.indices < feat.n_word_]
        assert (word_entries**2).sum() == pytest.approx(1.0)  # each block is L2-normalised over entries


def test_cues_are_matched_exactly_not_by_hashed_column() -> None:
    """"word109" shares its hashed column (2**18 buckets) with a news cue but is no cue: it counts
    for no group, while a real cue does; a text counts each cue it holds."""
    from routing_models import _hashing
    from routing_models.lexicon import CUE_GROUPS

    docs = ["word109 word109", "the journalist asked", "nothing here"]
    featurizer = MentionFeaturizer().fit(docs)
    assert featurizer.exact_cues
    spans = _hashing.word_ngrams(docs, (1, 2), featurizer.word_n_features, with_keys=True)
    counts = featurizer.cue_counts(spans, len(docs))
    # the collision is real under the column lookup models fitted before used
    collided = featurizer.lexicon_bucket_row_[spans.col[spans.doc == 0]]
    assert (collided >= 0).any()
    assert counts[0].sum() == 0
    assert counts[1, list(CUE_GROUPS).index("pr_news")] >= 1
    assert counts[2].sum() == 0


def test_fit_predict_on_seed(clf: Classifier, seed_split: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """A model trained on 80% of the seed corpus beats 0.75 macro-F1 on the other 20%."""
    result = evaluate(clf, seed_split[1])
    assert result["macro_f1"] >= 0.75, result["macro_f1"]
    assert result["macro_f1"] > result["dummy"]["macro_f1"] + 0.4


def test_probabilities_sum_to_one(clf: Classifier) -> None:
    """predict_proba rows sum to 1; Prediction carries the argmax label and its probability."""
    texts = ["my parcel never arrived", "Cerchiamo un magazziniere a Bologna", "", "😀", "CEO resigns amid probe"]
    proba = clf.predict_proba(texts)
    assert proba.shape == (len(texts), len(LABELS))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    preds = clf.predict(texts)
    assert all(isinstance(p, Prediction) for p in preds)
    for p, row in zip(preds, proba, strict=False):
        assert p.label == clf.labels[int(row.argmax())]
        assert p.confidence == pytest.approx(row.max())
        assert sum(p.probabilities.values()) == pytest.approx(1.0)
        assert list(p.probabilities) == clf.labels
    assert clf.predict_proba([]).shape == (0, len(LABELS))


def test_obvious_examples(clf: Classifier) -> None:
    """Clear-cut mentions in both languages go to the right department."""
    cases = {
        "@ShopCo my order #5521 never arrived and nobody answers, I want a refund": "customer_care",
        "Il pacco non è mai arrivato e l'assistenza non risponde, voglio il rimborso": "customer_care",
        "We're hiring a senior backend engineer, remote, apply via our careers page": "hr",
        "Offerta di lavoro: cerchiamo magazziniere full time, inviare CV": "hr",
        "ShopCo shares fall 8% after quarterly loss, CEO under pressure": "pr",
        "Antitrust multa ShopCo per 10 milioni di euro": "pr",
    }
    preds = clf.predict(list(cases))
    assert [p.label for p in preds] == list(cases.values())


def test_determinism_same_seed_same_version_and_probabilities(
    seed_split: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """Training twice with the same rows/params/seed gives the same version and probabilities."""
    rows = seed_split[0][:500]
    first = train(rows, seed=0)
    again = train(rows, seed=0)
    assert again.version == first.version
    assert again.version.startswith("m-") and len(again.version.split("-")[2]) == 8
    texts = [r["text"] for r in seed_split[1][:50]]
    assert np.allclose(again.predict_proba(texts), first.predict_proba(texts), rtol=0, atol=1e-12)
    other = train(rows, seed=1)
    assert other.version != first.version
    assert not np.allclose(other.predict_proba(texts), first.predict_proba(texts), rtol=0, atol=1e-12)


def test_version_names_the_lexicon() -> None:
    """The version hashes the cue lexicon too: the same rows and parameters with another lexicon
    give another version, and the metadata records the lexicon hash."""
    when = _dt.datetime(2026, 11, 27, tzinfo=_dt.UTC)
    base = make_version("d" * 64, {"C": 2.0}, 0, when, lexicon_hash())
    assert base == make_version("d" * 64, {"C": 2.0}, 0, when, lexicon_hash())
    assert base != make_version("d" * 64, {"C": 2.0}, 0, when, "0" * 64)
    assert len(lexicon_hash()) == 64


def test_metadata_contents(clf: Classifier) -> None:
    """Metadata records version, labels, params, data hash, library versions and counts."""
    meta = clf.metadata
    for key in (
        "version",
        "created_at",
        "labels",
        "params",
        "data_hash",
        "lexicon_hash",
        "data_files",
        "library_versions",
        "label_counts",
        "temperature",
        "evaluation",
        "loso",
    ):
        assert key in meta, key
    assert meta["labels"] == sorted(LABELS) == clf.labels
    assert set(meta["library_versions"]) >= {"python", "sklearn", "numpy", "scipy", "skops"}
    assert len(meta["data_hash"]) == 64
    # trained without evaluation files, it still records a cross-source figure: its rows scored by the
    # calibration folds that did not see their source family
    folds = meta["evaluation"]["source_folds"]
    assert folds["stage"] == "first" and folds["n"] == meta["n_rows"]
    assert 0.5 < folds["macro_f1"] < 1 and 0.5 < folds["accuracy"] < 1


def test_explain_top_ngrams(clf: Classifier) -> None:
    """explain() lists, per label, at most `top` positive (feature, contribution) pairs, sorted."""
    text = "My refund never arrived, please help"
    exp = clf.explain(text, top=4)
    assert set(exp) == set(clf.labels)
    for _label, items in exp.items():
        assert len(items) <= 4
        weights = [w for _, w in items]
        assert weights == sorted(weights, reverse=True)
        assert all(w > 0 for w in weights)
        assert all(isinstance(name, str) and name.split(":")[0] in {"w", "c", "lex"} for name, _ in items)
    names = [name for name, _ in exp["customer_care"]]
    assert any("refund" in n or "help" in n or n.startswith("lex:care_") for n in names), names


def test_evaluate_output_shape(clf: Classifier, seed_split: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """evaluate() returns exactly the design.md contract keys plus ece, dummy and stage, with sane values."""
    rows = [dict(r) for r in seed_split[1][:120]]
    for r in rows[:10]:
        r.pop("lang")  # detected
    result = evaluate(clf, rows)
    assert set(result) == CONTRACT_KEYS | {"ece", "dummy", "stage"}
    assert result["stage"] == "fast"  # no encoder given
    assert result["n"] == 120
    assert result["model_version"] == clf.version
    assert set(result["per_class"]) == set(clf.labels)
    for scores in result["per_class"].values():
        assert set(scores) == {"precision", "recall", "f1", "support"}
    assert sum(s["support"] for s in result["per_class"].values()) == 120
    assert set(result["per_lang"]) <= {"en", "it", "unknown", "es", "fr", "de", "pt", "nl"}
    assert sum(v["n"] for v in result["per_lang"].values()) == 120
    assert all(set(v) == {"n", "macro_f1"} for v in result["per_lang"].values())
    assert result["confusion"]["labels"] == clf.labels
    assert np.array(result["confusion"]["matrix"]).sum() == 120
    assert 0.0 <= result["ece"] <= 1.0
    assert set(result["dummy"]) == {"accuracy", "macro_f1"}


def test_expected_calibration_error() -> None:
    """ECE is 0 for perfectly calibrated confidences and |acc - conf| for a single bin."""
    proba = np.array([[0.95, 0.05]] * 20)
    y = np.array([0] * 19 + [1])
    assert expected_calibration_error(proba, y) == pytest.approx(0.0, abs=1e-9)
    y_all_wrong = np.ones(20, dtype=int)
    assert expected_calibration_error(proba, y_all_wrong) == pytest.approx(0.95)


def test_sample_weights_balance_sources_and_labels() -> None:
    """Every label gets the same total weight; a big source gets less than its row share; corrections get 3x."""
    rows = (
        [{"text": f"a{i}", "label": "hr", "source": "big"} for i in range(90)]
        + [{"text": f"b{i}", "label": "hr", "source": "small"} for i in range(10)]
        + [{"text": f"c{i}", "label": "pr", "source": "news"} for i in range(50)]
        + [{"text": "d", "label": "pr", "source": "correction"}]
    )
    w = sample_weights(rows)
    hr_total = w[:100].sum()
    assert hr_total == pytest.approx(w[100:150].sum())
    assert w[:90].sum() / hr_total == pytest.approx(90**0.5 / (90**0.5 + 10**0.5))
    assert w[:150].mean() == pytest.approx(1.0)
    assert w[150] == pytest.approx(3.0)


def test_fake_classifier_interface() -> None:
    """FakeClassifier mimics Classifier: labels, Prediction objects, probabilities and explain."""
    fake = FakeClassifier()
    preds = fake.predict(["I want a refund", "we are hiring", "shares fall", "love it", "???"])
    assert [p.label for p in preds] == ["customer_care", "hr", "pr", "marketing", "customer_care"]
    assert np.allclose(fake.predict_proba(["x", "y"]).sum(axis=1), 1.0)
    assert fake.explain("refund please")["customer_care"][0][0] == "kw:refund"
    assert evaluate(fake, [{"text": "refund", "label": "customer_care", "lang": "en"}])["accuracy"] == 1.0
