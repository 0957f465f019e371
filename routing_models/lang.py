"""Offline language detection with py3langid's model, restricted to a small set of European languages.

py3langid walks a byte-level automaton over each text in a Python loop (about 55 µs a mention,
twice the classifier). :func:`detect_languages` runs the same automaton over a whole batch at
once with numpy: one vectorised step per byte position for all texts still that long, then the
same naive-Bayes scores as a sparse product (about 14 µs a mention in batches of 500). The model,
the encoding and the scoring are py3langid's; a test checks the answers against
``LanguageIdentifier.classify`` text by text.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]  # scipy ships no type hints

__all__ = ["LANGUAGES", "detect_language", "detect_languages"]

#: Languages the detector may answer; everything else is forced into one of these or ``None``.
LANGUAGES: tuple[str, ...] = ("en", "it", "es", "fr", "de", "pt", "nl")

_MIN_LETTERS = 3
_MIN_CONFIDENCE = 0.5
_STRIP_RE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|\{link\}")
_LETTERS_RE = re.compile(r"[^\W\d_](?:[\W\d_]*[^\W\d_]){%d}" % (_MIN_LETTERS - 1))  # _MIN_LETTERS letters

_WIDTH = 512  # bytes: longer texts are walked one by one (py3langid's loop)
_CHUNK = 256  # texts walked together
_MIN_BATCH = 16  # fewer texts: py3langid's classify, one by one

_lock = threading.Lock()


@dataclass(frozen=True)
class _Model:
    """py3langid's automaton and naive-Bayes tables, restricted to :data:`LANGUAGES`."""

    identifier: object  # py3langid.langid.LanguageIdentifier: encoding, small batches, long texts
    nextmove: npt.NDArray[np.uint32]
    rowbase: npt.NDArray[np.int64]  # state -> row offset in ``nextmove`` (row << 8)
    output: npt.NDArray[np.int64]  # state -> feature index, or -1
    ptc: npt.NDArray[np.float32]  # feature x language log-probabilities
    pc: npt.NDArray[np.float32]  # language priors
    languages: tuple[str, ...]


_model: _Model | None = None


def _get_model() -> _Model:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]  # no type hints

                ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                ident.set_languages(list(LANGUAGES))
                if ident._alias_pairs:  # a label twice (script variants): not among LANGUAGES today
                    raise RuntimeError(f"py3langid aliases among {LANGUAGES}: {ident._alias_pairs}")
                _model = _Model(
                    identifier=ident,
                    nextmove=np.asarray(ident.tk_nextmove),  # uint32, 39 MB: shared, not copied
                    rowbase=np.asarray(ident.tk_row, dtype=np.int64) << 8,
                    output=np.asarray(ident.tk_output, dtype=np.int64),
                    ptc=np.ascontiguousarray(ident.nb_ptc, dtype=np.float32),
                    pc=np.asarray(ident.nb_pc, dtype=np.float32),
                    languages=tuple(ident.nb_classes),
                )
    return _model


def _visits(model: _Model, encoded: list[bytes], lengths: npt.NDArray[np.int64]) -> sp.csr_matrix:
    """Feature counts per text (py3langid's ``visit_counts``), the texts walked together.

    Texts are sorted longest first and walked in chunks of ``_CHUNK``: one vectorised step per
    byte position advances every text of the chunk still that long (a prefix of it). A step costs
    a few microseconds whatever the number of texts, so texts longer than ``_WIDTH`` bytes take
    py3langid's own per-byte loop instead.
    """
    n = len(encoded)
    together = np.flatnonzero(lengths <= _WIDTH)
    together = together[np.argsort(-lengths[together], kind="stable")]
    docs_out: list[npt.NDArray[np.int64]] = []
    feats_out: list[npt.NDArray[np.int64]] = []
    for start in range(0, together.shape[0], _CHUNK):
        chunk = together[start : start + _CHUNK]
        chunk_lengths = lengths[chunk]
        width = int(chunk_lengths[0])
        grid = np.zeros((width, chunk.shape[0]), dtype=np.uint8)  # position-major: each step reads a row
        for col, i in enumerate(chunk.tolist()):
            grid[: lengths[i], col] = np.frombuffer(encoded[i], dtype=np.uint8)
        found = np.full((width, chunk.shape[0]), -1, dtype=np.int64)
        state = np.zeros(chunk.shape[0], dtype=np.int64)
        active_at = np.searchsorted(-chunk_lengths, -np.arange(width), side="left").tolist()
        for pos, active in enumerate(active_at):
            s = model.nextmove[model.rowbase[state[:active]] + grid[pos, :active]]
            state[:active] = s
            found[pos, :active] = model.output[s]
        pos_idx, col_idx = np.nonzero(found >= 0)
        docs_out.append(chunk[col_idx])
        feats_out.append(found[pos_idx, col_idx])
    alone = np.setdiff1d(np.arange(n), together, assume_unique=True)
    if alone.shape[0]:
        from py3langid.langid import visit_counts  # type: ignore[import-untyped]  # no type hints

        ident = model.identifier
        for i in alone.tolist():
            counts = visit_counts(ident.tk_nextmove, ident._rowbase, ident.tk_output, encoded[i])  # type: ignore[attr-defined]
            if counts:
                feats = np.fromiter(counts.elements(), dtype=np.int64)
                docs_out.append(np.full(feats.shape[0], i, dtype=np.int64))
                feats_out.append(feats)
    docs = np.concatenate(docs_out) if docs_out else np.zeros(0, dtype=np.int64)
    feats = np.concatenate(feats_out) if feats_out else np.zeros(0, dtype=np.int64)
    n_features = model.ptc.shape[0]
    keys, counts = np.unique(docs * n_features + feats, return_counts=True)
    return sp.csr_matrix(
        (np.log1p(counts.astype(np.float32)), (keys // n_features, keys % n_features)), shape=(n, n_features)
    )


def _probabilities(model: _Model, encoded: list[bytes]) -> npt.NDArray[np.float32]:
    """py3langid's normalised scores (``_decide`` with ``norm_probs``) for each encoded text."""
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    visits = _visits(model, encoded, lengths)
    scores = np.asarray(visits @ model.ptc, dtype=np.float32) + model.pc
    scores[np.diff(visits.indptr) == 0] = 0.0  # no features: uniform, as py3langid does
    scores *= (1.0 / np.sqrt(np.maximum(lengths, 1).astype(np.float32)))[:, None]
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.asarray(scores / scores.sum(axis=1, keepdims=True), dtype=np.float32)


def detect_languages(texts: Iterable[str]) -> list[str | None]:
    """For each text an ISO 639-1 code among :data:`LANGUAGES`, or ``None`` if it has too few
    letters or the best language has probability below 0.5 (URLs, @handles and #hashtags are ignored)."""
    texts = list(texts)
    out: list[str | None] = [None] * len(texts)
    model = _get_model()
    todo: list[int] = []
    cleaned: list[str] = []
    for i, text in enumerate(texts):
        kept = _STRIP_RE.sub(" ", text or "")
        if _LETTERS_RE.search(kept):
            todo.append(i)
            cleaned.append(kept)
    if len(todo) < _MIN_BATCH:  # the batch machinery costs more than it saves
        for i, text in zip(todo, cleaned):
            language, confidence = model.identifier.classify(text)  # type: ignore[attr-defined]
            out[i] = str(language) if confidence >= _MIN_CONFIDENCE else None
        return out
    encoded = [model.identifier._encode(text) for text in cleaned]  # type: ignore[attr-defined]
    proba = _probabilities(model, encoded)
    best = proba.argmax(axis=1)
    for i, b, p in zip(todo, best.tolist(), proba[np.arange(len(todo)), best].tolist()):
        if p >= _MIN_CONFIDENCE:
            out[i] = model.languages[b]
    return out


def detect_language(text: str) -> str | None:
    """:func:`detect_languages` for one text."""
    return detect_languages([text])[0]
