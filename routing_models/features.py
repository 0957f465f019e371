"""Featurising mentions: the normaliser step and the hashed n-gram + cue-lexicon featurizer.

* :class:`TextNormalizer` applies :func:`routing_models.normalize.normalize` to every text;
* :class:`MentionFeaturizer` turns normalised texts into hashed word 1–2-grams and character
  3–5-grams, each block IDF-weighted and L2-normalised, plus one count per cue group of
  :data:`routing_models.lexicon.CUE_GROUPS`.

Both are scikit-learn estimators (``__init__`` only stores its arguments, fitted attributes end
with ``_``); :func:`routing_models.pipeline.build_pipeline` chains them with the classifier of
:mod:`routing_models.calibration`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]  # scipy ships no type hints
from sklearn.base import BaseEstimator, TransformerMixin  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.utils.validation import check_is_fitted  # type: ignore[import-untyped]  # sklearn ships no type hints

from routing_models import _hashing
from routing_models.lexicon import CUE_GROUPS
from routing_models.normalize import normalize

__all__ = ["TextNormalizer", "MentionFeaturizer", "ngram_range"]


def ngram_range(value: Any) -> tuple[int, int]:
    """``(low, high)`` as two ints (parameters may come back from JSON as lists)."""
    low, high = value
    return int(low), int(high)



class TextNormalizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Apply :func:`routing_models.normalize.normalize` to each text (stateless)."""

    def fit(self, X: list[str], y: Any = None) -> TextNormalizer:
        return self

    def transform(self, X: list[str]) -> list[str]:
        return [normalize(t) for t in X]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


_Run = tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32], npt.NDArray[np.bool_]]


class MentionFeaturizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Hashed word + character n-gram TF-IDF blocks and department-cue lexicon counts.

    N-grams are hashed into ``word_n_features`` / ``char_n_features`` buckets; ``fit`` keeps only
    the buckets seen in at least ``min_df`` training documents and renumbers them compactly
    (``word_columns_`` / ``char_columns_`` map bucket → output column or -1), which keeps the
    linear model small and fast to train.  Output columns: the ``n_word_`` word n-grams, then
    the ``n_char_`` character n-grams, then one column per cue group of
    :data:`routing_models.lexicon.CUE_GROUPS` (only when ``lexicon_weight > 0``) holding
    ``lexicon_weight * log(1 + number of the group's cues in the text)``.  Each n-gram block is weighted by IDF,
    L2-normalised and multiplied by its block weight.  Repeated n-grams in a document are kept
    as separate entries of the sparse matrix (their sum is the count) and the norm is computed
    over entries, which avoids a per-row sort and keeps ``transform`` fast.
    """

    def __init__(
        self,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (3, 5),
        word_n_features: int = 2**18,
        char_n_features: int = 2**20,
        word_weight: float = 1.0,
        char_weight: float = 1.0,
        lexicon_weight: float = 1.0,
        min_df: int = 2,
        min_groups: int = 1,
    ) -> None:
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.word_n_features = word_n_features
        self.char_n_features = char_n_features
        self.word_weight = word_weight
        self.char_weight = char_weight
        self.lexicon_weight = lexicon_weight
        self.min_df = min_df
        self.min_groups = min_groups

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: list[str], y: Any = None, groups: npt.ArrayLike | None = None) -> MentionFeaturizer:
        """Fit IDF weights and the kept columns; ``groups`` (source family per row) enable ``min_groups``."""
        for name in ("word_n_features", "char_n_features"):
            value = getattr(self, name)
            if value < 2 or value & (value - 1):
                raise ValueError(f"{name} must be a power of two, got {value}")
        docs = list(X)
        n = len(docs)
        group_index = None
        if groups is not None and self.min_groups > 1:
            _, group_index = np.unique(np.asarray(groups), return_inverse=True)
        self.word_columns_, self.idf_word_ = self._idf(
            _hashing.word_ngrams(docs, ngram_range(self.word_ngram_range), self.word_n_features),
            n,
            self.word_n_features,
            group_index,
        )
        self.char_columns_, self.idf_char_ = self._idf(
            _hashing.char_ngrams(docs, ngram_range(self.char_ngram_range), self.char_n_features),
            n,
            self.char_n_features,
            group_index,
        )
        self.lexicon_groups_ = list(CUE_GROUPS)
        self.lexicon_bucket_row_, self.lexicon_membership_ = _lexicon_tables(self.word_n_features)
        self.lexicon_keys_, self.lexicon_key_membership_ = _lexicon_key_tables()
        self.n_word_ = int(self.idf_word_.shape[0]) - 1
        self.n_char_ = int(self.idf_char_.shape[0]) - 1
        n_lexicon = len(self.lexicon_groups_) if self.lexicon_weight > 0 else 0
        self.n_features_out_ = self.n_word_ + self.n_char_ + n_lexicon
        return self

    def _idf(
        self,
        spans: _hashing.NgramSpans,
        n_docs: int,
        n_features: int,
        group_index: npt.NDArray[np.int64] | None = None,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """Return (hashed column → output column or -1, IDF per output column plus a trailing 0).

        A column is kept when ``df >= min_df`` and, if ``group_index`` is given, when it occurs in
        at least ``min_groups`` distinct source families (n-grams private to one source are a
        shortcut to that source's label, not evidence about the department).
        """
        counts = _hashing.to_csr(spans, n_docs, n_features)
        df = np.bincount(counts.indices, minlength=n_features)
        keep = df >= max(1, self.min_df)
        if group_index is not None:
            n_groups = int(group_index.max()) + 1
            membership = sp.csr_matrix(
                (np.ones(n_docs), (group_index, np.arange(n_docs))), shape=(n_groups, n_docs)
            )
            present = membership @ (counts > 0).astype(np.float64)
            keep &= np.bincount(present.tocsr().indices, minlength=n_features) >= self.min_groups
        kept = np.flatnonzero(keep)
        columns = np.full(n_features, -1, dtype=np.int32)
        columns[kept] = np.arange(kept.shape[0], dtype=np.int32)
        idf = np.log((1.0 + n_docs) / (1.0 + df[kept])) + 1.0
        return columns, np.append(idf, 0.0).astype(np.float32)

    # -- transforming ------------------------------------------------------------------------
    def _block(
        self,
        spans: _hashing.NgramSpans,
        columns: npt.NDArray[np.int32],
        idf: npt.NDArray[np.float32],
        n_docs: int,
        weight: float,
        offset: int,
    ) -> list[_Run]:
        """Runs of (doc, output column, value, kept-span mask) for one n-gram block, L2-normalised per doc."""
        cols = columns[spans.col]
        keep = cols >= 0
        values = idf[cols]  # idf has a trailing 0: dropped buckets (-1) get value 0
        norms = np.sqrt(np.bincount(spans.doc, weights=values * values, minlength=n_docs)).astype(np.float32)
        norms[norms == 0] = 1.0
        scale = np.float32(weight) / norms
        runs = []
        for r in spans.runs():
            k = keep[r]
            doc = spans.doc[r][k]
            runs.append((doc, cols[r][k] + np.int32(offset), values[r][k] * scale[doc], k))
        return runs

    def _entries(
        self, docs: list[str], *, with_spans: bool = False
    ) -> tuple[dict[str, list[_Run]], _hashing.NgramSpans, _hashing.NgramSpans]:
        check_is_fitted(self, "idf_word_")
        n = len(docs)
        wspans = _hashing.word_ngrams(
            docs, ngram_range(self.word_ngram_range), self.word_n_features, with_spans=with_spans,
            with_keys=self.exact_cues,
        )
        cspans = _hashing.char_ngrams(
            docs, ngram_range(self.char_ngram_range), self.char_n_features, with_spans=with_spans
        )
        blocks: dict[str, list[_Run]] = {}
        if self.word_weight > 0:
            blocks["w"] = self._block(wspans, self.word_columns_, self.idf_word_, n, self.word_weight, 0)
        if self.char_weight > 0:
            blocks["c"] = self._block(cspans, self.char_columns_, self.idf_char_, n, self.char_weight, self.n_word_)
        if self.lexicon_weight > 0:
            counts, hit = self._cue_counts_and_hits(wspans, n)
            rows, groups = np.nonzero(counts)
            vals = (np.log1p(counts[rows, groups]) * self.lexicon_weight).astype(np.float32)
            offset = self.n_word_ + self.n_char_
            blocks["lex"] = [(rows.astype(np.int32), groups.astype(np.int32) + np.int32(offset), vals, hit)]
        return blocks, wspans, cspans

    @property
    def exact_cues(self) -> bool:
        """Whether cues are matched by their full 64-bit n-gram hash (models fitted since the
        lexicon keys exist).  Models fitted before match by hashed column, so a word n-gram that
        shares a column with a cue (about 1 in 130 at 2**18 columns) counted as that cue: a third
        of dev_crosssource's mentions had such a false cue.  Those models keep their behaviour."""
        return hasattr(self, "lexicon_keys_")

    def cue_counts(self, wspans: _hashing.NgramSpans, n_docs: int) -> npt.NDArray[np.float64]:
        """Number of cues of each group per document, shape ``(n_docs, len(lexicon_groups_))``;
        ``wspans`` must carry keys (``with_keys=True``) when :attr:`exact_cues`."""
        return self._cue_counts_and_hits(wspans, n_docs)[0]

    def _cue_counts_and_hits(
        self, wspans: _hashing.NgramSpans, n_docs: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """:meth:`cue_counts` and the mask of the word n-grams that are cues."""
        if self.exact_cues:
            if wspans.key is None:
                raise ValueError("exact cue matching needs the word n-grams' keys (with_keys=True)")
            keys = self.lexicon_keys_
            pos = np.minimum(np.searchsorted(keys, wspans.key), keys.shape[0] - 1)
            hit = keys[pos] == wspans.key
            hit_docs = wspans.doc[hit]
            members = self.lexicon_key_membership_[pos[hit]]
        else:
            bucket_rows = self.lexicon_bucket_row_[wspans.col]
            hit = bucket_rows >= 0
            hit_docs = wspans.doc[hit]
            members = self.lexicon_membership_[bucket_rows[hit]]
        counts = np.stack(
            [np.bincount(hit_docs, weights=members[:, g], minlength=n_docs) for g in range(members.shape[1])], axis=1
        )
        return np.asarray(counts, dtype=np.float64), hit

    def transform(self, X: list[str]) -> sp.csr_matrix:
        docs = list(X)
        blocks, _, _ = self._entries(docs)
        runs = [(d, c, v) for block in blocks.values() for d, c, v, _ in block]
        return _hashing.runs_to_csr(runs, len(docs), self.n_features_out_)

    def feature_contributions(self, doc: str) -> list[tuple[str, int, float]]:
        """(feature name, column, value) for every non-zero feature of one normalised document.

        Names are ``w:<n-gram>``, ``c:<n-gram>`` (spaces shown as ``_``) and ``lex:<cue group>``;
        duplicates of the same n-gram are merged (values summed).
        """
        blocks, wspans, cspans = self._entries([doc], with_spans=True)
        out: dict[tuple[str, int], float] = {}
        for prefix, spans in (("w", wspans), ("c", cspans)):
            if prefix not in blocks or spans.start is None or spans.end is None:
                continue
            for r, (_, cols, values, keep) in zip(spans.runs(), blocks[prefix], strict=False):
                starts = spans.start[r][keep].tolist()
                ends = spans.end[r][keep].tolist()
                for a, b, col, value in zip(starts, ends, cols.tolist(), values.tolist(), strict=False):
                    name = f"{prefix}:" + spans.joined[a:b].replace(" ", "_")
                    out[(name, col)] = out.get((name, col), 0.0) + value
        offset = self.n_word_ + self.n_char_
        for _, cols, values, _ in blocks.get("lex", []):
            for col, value in zip(cols.tolist(), values.tolist(), strict=False):
                out[("lex:" + self.lexicon_groups_[col - offset], col)] = value
        return [(name, col, value) for (name, col), value in out.items()]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


_NON_ALNUM_RE = re.compile(r"[^0-9a-z\u0080-\U0010ffff]+")


def _cue_phrases_by_length() -> list[tuple[int, int, list[str]]]:
    """(group index, n-gram length, normalised cue phrases) for every group of :data:`CUE_GROUPS`."""
    out = []
    for index, phrases in enumerate(CUE_GROUPS.values()):
        normalised = sorted({" ".join(_NON_ALNUM_RE.sub(" ", normalize(p)).split()) for p in phrases})
        too_long = [p for p in normalised if len(p.split()) > 2]
        if too_long:
            raise ValueError(f"cue phrases must be unigrams or bigrams: {too_long}")
        for n in (1, 2):
            group = [p for p in normalised if len(p.split()) == n]
            if group:
                out.append((index, n, group))
    return out


def _lexicon_key_tables() -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64]]:
    """Cue-group lookup by full n-gram hash: the sorted 64-bit keys of every cue n-gram and their
    membership (one row per key, one 0/1 column per group of :data:`CUE_GROUPS`)."""
    pairs: set[tuple[int, int]] = set()
    for index, n, group in _cue_phrases_by_length():
        spans = _hashing.word_ngrams(group, (n, n), 2, with_spans=True, with_keys=True)
        assert spans.start is not None and spans.end is not None and spans.key is not None
        whole = spans.end - spans.start == np.array([len(group[d]) for d in spans.doc])
        pairs.update((int(k), index) for k in spans.key[whole].tolist())
    keys = sorted({k for k, _ in pairs})
    row = {k: i for i, k in enumerate(keys)}
    membership = np.zeros((len(keys), len(CUE_GROUPS)))
    for k, index in pairs:
        membership[row[k], index] = 1.0
    return np.array(keys, dtype=np.uint64), membership


def _lexicon_tables(n_features: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """Cue-group lookup for hashed word n-grams.

    Returns ``bucket_row`` (hashed bucket → row of ``membership`` or -1) and ``membership``
    (one row per cue bucket, one 0/1 column per group of :data:`CUE_GROUPS`).
    """
    pairs: set[tuple[int, int]] = set()
    for index, n, group in _cue_phrases_by_length():
        spans = _hashing.word_ngrams(group, (n, n), n_features, with_spans=True)
        assert spans.start is not None and spans.end is not None
        whole = spans.end - spans.start == np.array([len(group[d]) for d in spans.doc])
        pairs.update((int(bucket), index) for bucket in spans.col[whole].tolist())
    buckets = sorted({bucket for bucket, _ in pairs})
    bucket_row = np.full(n_features, -1, dtype=np.int32)
    bucket_row[buckets] = np.arange(len(buckets), dtype=np.int32)
    membership = np.zeros((len(buckets), len(CUE_GROUPS)))
    for bucket, index in pairs:
        membership[bucket_row[bucket], index] = 1.0
    return bucket_row, membership

