"""The refiner head (routing_models/refine.py): trained next to the n-gram model when an encoder is
given, saved in the artifact, blended at prediction, scored by evaluate and by leave-one-source-out.
A deterministic hashing "encoder" stands in for the sentence encoder (tested on its own in
test_routing_models_encoder_use.py), so these tests take seconds."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routing_models import registry
from routing_models.cross_validation import leave_one_source_out
from routing_models.data import load_seed
from routing_models.evaluate import evaluate
from routing_models.model import Classifier
from routing_models.refine import embed_cached
from routing_models.train import train


class HashingEncoder:
    """Bag of words hashed into 384 signed dimensions, L2-normalised; counts the texts it embeds."""

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[i, h % 384] += 1.0 if (h >> 9) & 1 else -1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    seed, _ = load_seed()
    return seed[::3]  # every style and label, ~750 rows


@pytest.fixture(scope="module")
def refined(rows: list[dict[str, Any]]) -> Classifier:
    return train(rows, encoder=HashingEncoder())


def test_a_model_trained_with_an_encoder_carries_a_head(refined: Classifier, rows: list[dict[str, Any]]) -> None:
    head = refined.refiner
    assert head is not None and head["format"] == 1
    assert head["coef"].shape == (4, 384) and head["intercept"].shape == (4,)
    assert not {"embeddings", "oof_blend"} & set(head)  # working data is not saved
    assert not hasattr(refined.pipeline.named_steps["clf"], "oof_")
    assert refined.metadata["refiner"]["weight"] == 0.5
    assert refined.metadata["refiner"]["temperature_blend"] > 0
    texts = [r["text"] for r in rows[:50]]
    proba = refined.refined_proba(texts, HashingEncoder())
    assert proba.shape == (50, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    # the blend is not the n-gram model under another name
    assert np.abs(proba - refined.predict_proba(texts)).max() > 0.01


def test_without_an_encoder_there_is_no_head(rows: list[dict[str, Any]]) -> None:
    plain = train(rows[:300])
    assert plain.refiner is None and "refiner" not in plain.metadata
    with pytest.raises(ValueError, match="no refiner head"):
        plain.refined_proba(["hello"], HashingEncoder())


def test_weight_zero_keeps_the_labels_and_weight_one_follows_the_encoder(rows: list[dict[str, Any]]) -> None:
    texts = [r["text"] for r in rows[1::4]]
    zero = train(rows, encoder=HashingEncoder(), params={"refine_weight": 0.0})
    assert (zero.refined_proba(texts, HashingEncoder()).argmax(1) == zero.predict_proba(texts).argmax(1)).all()
    one = train(rows, encoder=HashingEncoder(), params={"refine_weight": 1.0, "refine_band": 1.0})
    # with w = 1 only the embedding counts: two texts with the same bag of words get the same answer
    a, b = "my order is broken and late", "late and broken is order my"
    pa, pb = one.refined_proba([a, b], HashingEncoder())
    np.testing.assert_allclose(pa, pb, atol=1e-9)
    assert not np.allclose(*one.predict_proba([a, b]))


def test_the_head_survives_save_and_load(refined: Classifier, tmp_path: Path) -> None:
    path = registry.save(refined, tmp_path)
    back = registry.load(path)
    texts = ["the app crashes at login", "siamo alla ricerca di un magazziniere", "azioni in calo dopo i conti"]
    np.testing.assert_allclose(back.refined_proba(texts, HashingEncoder()),
                               refined.refined_proba(texts, HashingEncoder()))


def test_evaluate_reports_refined_and_first_labels(refined: Classifier, rows: list[dict[str, Any]]) -> None:
    sample = rows[2::5]
    both = evaluate(refined, sample, encoder=HashingEncoder())
    assert both["stage"] == "refined" and set(both["fast"]) == {"accuracy", "macro_f1", "ece", "per_lang"}
    fast_only = evaluate(refined, sample)
    assert fast_only["stage"] == "fast" and "fast" not in fast_only
    assert both["fast"]["macro_f1"] == fast_only["macro_f1"]


def test_embeddings_are_cached_by_text(tmp_path: Path) -> None:
    enc = HashingEncoder()
    cache = tmp_path / "emb.npz"
    first = embed_cached(enc, ["a b", "c d", "a b"], cache)
    assert enc.encoded == 2  # the repeated text once
    second = embed_cached(enc, ["c d", "e f", "a b"], cache)
    assert enc.encoded == 3  # only the new text
    np.testing.assert_array_equal(second[0], first[1])
    np.testing.assert_array_equal(second[2], first[0])


def test_leave_one_source_out_scores_the_refined_labels(rows: list[dict[str, Any]], refined: Classifier) -> None:
    enc = HashingEncoder()
    emb = enc.encode([r["text"] for r in rows])
    blend = {"weight": 0.4, "C": 1.0, "temperature_encoder": refined.refiner["temperature_encoder"],
             "temperature_ngram": refined.pipeline.named_steps["clf"].temperature_}
    families = sorted({f"seed:{r['style']}" for r in rows})[:2]
    out = leave_one_source_out(rows, families=families, embeddings=emb, blend=blend)
    assert set(out["refined"]["per_source"]) == set(families) == set(out["per_source"])
    assert out["refined"]["pooled"]["n"] == out["pooled"]["n"] > 0


def test_only_mentions_below_the_band_are_embedded(rows: list[dict[str, Any]]) -> None:
    """The head's band: a mention the n-gram model is at least that sure of keeps the n-gram model's
    probabilities and is never embedded; the others get the blend."""
    model = train(rows, encoder=HashingEncoder(), params={"refine_band": 0.8})
    assert model.refiner is not None and model.refiner["band"] == 0.8 == model.metadata["refiner"]["band"]
    texts = [r["text"] for r in rows[1::3]]
    fast = model.predict_proba(texts)
    sure = fast.max(axis=1) >= 0.8
    assert 0 < sure.sum() < len(texts)  # both kinds in the sample, or the test proves nothing
    enc = HashingEncoder()
    proba = model.refined_proba(texts, enc)
    assert enc.encoded == int((~sure).sum())
    np.testing.assert_allclose(proba[sure], fast[sure])
    # below the band it is the blend, as a head that refines everything computes it
    everything = dict(model.refiner, band=1.0)
    model.refiner = everything
    np.testing.assert_allclose(proba[~sure], model.refined_proba(texts, HashingEncoder())[~sure])
    assert np.abs(proba[~sure] - fast[~sure]).max() > 0.01


def test_the_default_band_spares_the_confident_mentions(refined: Classifier, rows: list[dict[str, Any]]) -> None:
    assert refined.refiner is not None and refined.refiner["band"] == 0.95
    texts = [r["text"] for r in rows]
    enc = HashingEncoder()
    refined.refined_proba(texts, enc)
    assert enc.encoded == int((refined.predict_proba(texts).max(axis=1) < 0.95).sum()) < len(texts)


def test_a_head_without_a_band_refines_everything(refined: Classifier, rows: list[dict[str, Any]]) -> None:
    """Heads trained before the band (the artifacts people have) keep refining every mention."""
    old = Classifier(refined.pipeline, refined.metadata, refiner={k: v for k, v in refined.refiner.items()
                                                                  if k != "band"})
    enc = HashingEncoder()
    old.refined_proba([r["text"] for r in rows[:40]], enc)
    assert enc.encoded == 40


def test_the_head_weighs_every_source_family_of_a_label_alike() -> None:
    """The head's sample weights use ``refine_source_alpha`` (0: each family of a label the same share)
    where the n-gram model's grow with a family's size (``source_alpha`` 0.5: a family four times
    larger gets twice the share)."""
    from routing_models.train import head_weights, sample_weights

    rows = [{"text": f"a{i}", "label": "hr", "source": "big/file.csv"} for i in range(40)]
    rows += [{"text": f"b{i}", "label": "hr", "source": "small/file.csv"} for i in range(10)]
    rows += [{"text": f"c{i}", "label": "pr", "source": "news/file.csv"} for i in range(25)]
    big, small = slice(0, 40), slice(40, 50)
    ngram, head = sample_weights(rows), head_weights(rows)
    assert ngram[big].sum() / ngram[small].sum() == pytest.approx(2.0)
    assert head[big].sum() / head[small].sum() == pytest.approx(1.0)
    same = head_weights(rows, {"refine_source_alpha": 0.5})
    np.testing.assert_allclose(same, ngram)


def test_the_trained_head_uses_the_head_weights(refined: Classifier, rows: list[dict[str, Any]]) -> None:
    """``refine_source_alpha`` reaches the head that train() fits (and only the head)."""
    zero = refined  # train(rows, encoder=HashingEncoder()) with the defaults, as this test would fit it
    half = train(rows, encoder=HashingEncoder(), params={"refine_source_alpha": 0.5})
    assert zero.metadata["params"]["refine_source_alpha"] == 0.0
    assert zero.refiner is not None and half.refiner is not None
    assert np.abs(zero.refiner["coef"] - half.refiner["coef"]).max() > 1e-3
    texts = [r["text"] for r in rows[:40]]
    np.testing.assert_allclose(zero.predict_proba(texts), half.predict_proba(texts))
