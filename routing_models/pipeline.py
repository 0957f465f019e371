"""The scikit-learn pipeline: normalise → hashed word/char n-gram TF-IDF + cue lexicons → calibrated LR.

``build_pipeline(**params)`` returns an unfitted :class:`sklearn.pipeline.Pipeline` with three steps:

* ``normalize`` – :class:`TextNormalizer` (``routing_models.normalize.normalize`` on every text);
* ``features``  – :class:`MentionFeaturizer`: hashed word 1–2-grams and character 3–5-grams, each
  block IDF-weighted and L2-normalised, plus four department-cue lexicon counts;
* ``clf``       – :class:`CalibratedLinearClassifier`: multinomial logistic regression whose
  probabilities are temperature-scaled; the temperature is fitted on out-of-fold predictions
  (grouped by source when ``groups`` are passed, so it reflects *cross-source* confidence).

Custom estimators follow the scikit-learn conventions: ``__init__`` only stores its arguments,
fitted attributes end with ``_``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from routing_models import _hashing
from routing_models.lexicon import CUE_GROUPS
from routing_models.normalize import normalize

__all__ = [
    "DEFAULT_PARAMS",
    "TextNormalizer",
    "MentionFeaturizer",
    "CalibratedLinearClassifier",
    "build_pipeline",
    "softmax",
]

# Defaults chosen by ``python -m routing_models.select`` (leave-one-source-out CV); see docs/classifier.md.
DEFAULT_PARAMS: dict[str, Any] = {
    "word_ngram_range": (1, 2),
    "char_ngram_range": (3, 5),
    "word_n_features": 2**18,
    "char_n_features": 2**20,
    "word_weight": 1.0,
    "char_weight": 1.0,
    "lexicon_weight": 1.0,
    "min_df": 2,
    "C": 4.0,
    "solver": "sgd",
    "max_iter": 20,
    "calibration": "temperature",
    "calibration_folds": 5,
}

_FEATURE_KEYS = (
    "word_ngram_range",
    "char_ngram_range",
    "word_n_features",
    "char_n_features",
    "word_weight",
    "char_weight",
    "lexicon_weight",
    "min_df",
)
_CLF_KEYS = ("C", "solver", "calibration", "calibration_folds", "max_iter", "random_state")


def softmax(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Row-wise softmax."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


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
    ) -> None:
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.word_n_features = word_n_features
        self.char_n_features = char_n_features
        self.word_weight = word_weight
        self.char_weight = char_weight
        self.lexicon_weight = lexicon_weight
        self.min_df = min_df

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: list[str], y: Any = None) -> MentionFeaturizer:
        for name in ("word_n_features", "char_n_features"):
            value = getattr(self, name)
            if value < 2 or value & (value - 1):
                raise ValueError(f"{name} must be a power of two, got {value}")
        docs = list(X)
        n = len(docs)
        self.word_columns_, self.idf_word_ = self._idf(
            _hashing.word_ngrams(docs, tuple(self.word_ngram_range), self.word_n_features),
            n,
            self.word_n_features,
        )
        self.char_columns_, self.idf_char_ = self._idf(
            _hashing.char_ngrams(docs, tuple(self.char_ngram_range), self.char_n_features),
            n,
            self.char_n_features,
        )
        self.lexicon_groups_ = list(CUE_GROUPS)
        self.lexicon_matrix_ = _lexicon_matrix(self.word_n_features)
        self.n_word_ = int(self.idf_word_.shape[0])
        self.n_char_ = int(self.idf_char_.shape[0])
        self.n_features_out_ = self.n_word_ + self.n_char_ + (len(self.lexicon_groups_) if self.lexicon_weight > 0 else 0)
        return self

    def _idf(
        self, spans: _hashing.NgramSpans, n_docs: int, n_features: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """Return (hashed column → output column or -1, IDF per output column) for ``df >= min_df``."""
        counts = _hashing.to_csr(spans, n_docs, n_features)
        df = np.bincount(counts.indices, minlength=n_features)
        kept = np.flatnonzero(df >= max(1, self.min_df))
        columns = np.full(n_features, -1, dtype=np.int32)
        columns[kept] = np.arange(kept.shape[0], dtype=np.int32)
        idf = np.log((1.0 + n_docs) / (1.0 + df[kept])) + 1.0
        return columns, idf.astype(np.float32)

    # -- transforming ------------------------------------------------------------------------
    def _block(
        self,
        spans: _hashing.NgramSpans,
        columns: npt.NDArray[np.int32],
        idf: npt.NDArray[np.float32],
        n_docs: int,
        weight: float,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """(doc, output column, value, mask of kept spans) for one n-gram block."""
        cols = columns[spans.col]
        keep = cols >= 0
        doc = spans.doc[keep]
        cols = cols[keep].astype(np.int64)
        values = idf[cols].astype(np.float64)
        norms = np.sqrt(np.bincount(doc, weights=values * values, minlength=n_docs))
        norms[norms == 0] = 1.0
        values *= weight / norms[doc]
        return doc, cols, values, keep

    def _entries(
        self, docs: list[str]
    ) -> tuple[
        list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]],
        _hashing.NgramSpans,
        _hashing.NgramSpans,
    ]:
        check_is_fitted(self, "idf_word_")
        n = len(docs)
        wspans = _hashing.word_ngrams(docs, tuple(self.word_ngram_range), self.word_n_features)
        cspans = _hashing.char_ngrams(docs, tuple(self.char_ngram_range), self.char_n_features)
        blocks = []
        if self.word_weight > 0:
            blocks.append(self._block(wspans, self.word_columns_, self.idf_word_, n, self.word_weight))
        if self.char_weight > 0:
            d, c, v, keep = self._block(cspans, self.char_columns_, self.idf_char_, n, self.char_weight)
            blocks.append((d, c + self.n_word_, v, keep))
        if self.lexicon_weight > 0:
            counts = np.asarray((_span_counts(wspans, n, self.word_n_features) @ self.lexicon_matrix_).toarray())
            rows, groups = np.nonzero(counts)
            vals = np.log1p(counts[rows, groups]) * self.lexicon_weight
            offset = self.n_word_ + self.n_char_
            blocks.append((rows.astype(np.int64), groups.astype(np.int64) + offset, vals, np.ones(0, dtype=bool)))
        return blocks, wspans, cspans

    def transform(self, X: list[str]) -> sp.csr_matrix:
        docs = list(X)
        n = len(docs)
        blocks, _, _ = self._entries(docs)
        doc = np.concatenate([b[0] for b in blocks]) if blocks else np.zeros(0, np.int64)
        col = np.concatenate([b[1] for b in blocks]) if blocks else np.zeros(0, np.int64)
        val = np.concatenate([b[2] for b in blocks]) if blocks else np.zeros(0)
        order = np.argsort(doc, kind="stable")
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc, minlength=n), out=indptr[1:])
        return sp.csr_matrix(
            (val[order], col[order].astype(np.int32), indptr.astype(np.int32)),
            shape=(n, self.n_features_out_),
        )

    def feature_contributions(self, doc: str) -> list[tuple[str, int, float]]:
        """(feature name, column, value) for every non-zero feature of one normalised document.

        Names are ``w:<n-gram>``, ``c:<n-gram>`` (spaces shown as ``_``) and ``lex:<department>``;
        duplicates of the same n-gram are merged (values summed).
        """
        blocks, wspans, cspans = self._entries([doc])
        out: dict[tuple[str, int], float] = {}
        index = 0
        for prefix, spans, enabled in (("w:", wspans, self.word_weight > 0), ("c:", cspans, self.char_weight > 0)):
            if not enabled:
                continue
            _, cols, values, keep = blocks[index]
            index += 1
            starts = spans.start[keep].tolist()
            ends = spans.end[keep].tolist()
            for a, b, col, value in zip(starts, ends, cols.tolist(), values.tolist()):
                name = prefix + spans.joined[a:b].replace(" ", "_")
                out[(name, col)] = out.get((name, col), 0.0) + value
        if self.lexicon_weight > 0:
            _, cols, values, _ = blocks[index]
            offset = self.n_word_ + self.n_char_
            for col, value in zip(cols.tolist(), values.tolist()):
                out[("lex:" + self.lexicon_groups_[col - offset], col)] = value
        return [(name, col, value) for (name, col), value in out.items()]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


_NON_ALNUM_RE = re.compile(r"[^0-9a-z\u0080-\U0010ffff]+")


def _span_counts(spans: _hashing.NgramSpans, n_docs: int, n_features: int) -> sp.csr_matrix:
    """Unsorted count matrix of hashed n-gram spans (duplicates kept; fine for products)."""
    order = np.argsort(spans.doc, kind="stable")
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(spans.doc, minlength=n_docs), out=indptr[1:])
    data = np.ones(order.shape[0], dtype=np.float64)
    return sp.csr_matrix((data, spans.col[order], indptr), shape=(n_docs, n_features))


def _lexicon_matrix(n_features: int) -> sp.csr_matrix:
    """Membership matrix (hashed word-n-gram bucket × cue group) of :data:`CUE_GROUPS`."""
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    for index, phrases in enumerate(CUE_GROUPS.values()):
        normalised = sorted({" ".join(_NON_ALNUM_RE.sub(" ", normalize(p)).split()) for p in phrases})
        too_long = [p for p in normalised if len(p.split()) > 2]
        if too_long:
            raise ValueError(f"cue phrases must be unigrams or bigrams: {too_long}")
        for n in (1, 2):
            group = [p for p in normalised if len(p.split()) == n]
            if group:
                spans = _hashing.word_ngrams(group, (n, n), n_features)
                buckets = np.unique(spans.col[spans.end - spans.start == np.array([len(group[d]) for d in spans.doc])])
                rows.append(buckets)
                cols.append(np.full(buckets.shape[0], index, dtype=np.int64))
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    matrix = sp.csr_matrix((np.ones(r.shape[0]), (r, c)), shape=(n_features, len(CUE_GROUPS)))
    matrix.data[:] = 1.0  # a bucket listed twice in a group still counts once
    return matrix


class CalibratedLinearClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Logistic regression with temperature-scaled softmax probabilities.

    ``solver="sgd"`` (default): one-vs-rest logistic loss trained by averaged SGD for
    ``max_iter`` epochs (seconds instead of minutes on ~10k rows × 150k features, which makes
    leave-one-source-out CV and correction retraining cheap); ``solver="lbfgs"``: multinomial
    :class:`~sklearn.linear_model.LogisticRegression`.  Both use the same regularisation
    scale ``C``.  Probabilities are ``softmax(decision / temperature_)`` in both cases.

    ``fit(X, y, sample_weight=None, groups=None)``:

    1. out-of-fold decision scores from ``calibration_folds`` folds – ``GroupKFold`` over
       ``groups`` when given (so that calibration sees *unseen-source* scores), otherwise
       ``StratifiedKFold``;
    2. the temperature ``T`` that minimises the (weighted) log-loss of ``softmax(scores / T)``;
    3. a final fit on all rows.  Only ``coef_`` (float32) and ``intercept_`` are kept.

    ``calibration="none"`` skips 1–2 (``temperature_ = 1``).
    """

    def __init__(
        self,
        C: float = 4.0,
        solver: str = "sgd",
        calibration: str = "temperature",
        calibration_folds: int = 5,
        max_iter: int = 20,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.solver = solver
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit_lr(
        self, X: sp.csr_matrix, y: npt.NDArray[Any], sample_weight: npt.NDArray[np.float64] | None
    ) -> LogisticRegression | SGDClassifier:
        if self.solver == "lbfgs":
            lr = LogisticRegression(C=self.C, max_iter=max(self.max_iter, 1000), tol=1e-4)
        elif self.solver == "sgd":
            # same objective scale as LogisticRegression(C): alpha = 1 / (C * n_samples)
            lr = SGDClassifier(
                loss="log_loss",
                alpha=1.0 / (self.C * X.shape[0]),
                max_iter=self.max_iter,
                tol=None,
                average=True,
                random_state=self.random_state,
            )
        else:
            raise ValueError(f"solver must be 'sgd' or 'lbfgs', got {self.solver!r}")
        lr.fit(X, y, sample_weight=sample_weight)
        return lr

    def fit(
        self,
        X: sp.csr_matrix,
        y: Any,
        sample_weight: npt.ArrayLike | None = None,
        groups: npt.ArrayLike | None = None,
    ) -> CalibratedLinearClassifier:
        if self.calibration not in ("temperature", "none"):
            raise ValueError(f"calibration must be 'temperature' or 'none', got {self.calibration!r}")
        y_arr = np.asarray(y)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.classes_ = np.unique(y_arr)
        temperature = 1.0
        if self.calibration == "temperature" and self.calibration_folds >= 2:
            oof = np.zeros((X.shape[0], self.classes_.shape[0]))
            for train_idx, test_idx in self._folds(X, y_arr, groups):
                lr = self._fit_lr(X[train_idx], y_arr[train_idx], None if weights is None else weights[train_idx])
                scores = lr.decision_function(X[test_idx])
                # a fold may miss a class entirely: map its columns into the full class list
                cols = np.searchsorted(self.classes_, lr.classes_)
                full = np.full((len(test_idx), self.classes_.shape[0]), -1e3)
                full[:, cols] = scores
                oof[test_idx] = full
            temperature = _fit_temperature(oof, np.searchsorted(self.classes_, y_arr), weights)
        lr = self._fit_lr(X, y_arr, weights)
        self.coef_ = lr.coef_.astype(np.float32)
        self.intercept_ = lr.intercept_.astype(np.float64)
        self.temperature_ = float(temperature)
        self.n_features_in_ = X.shape[1]
        return self

    def _folds(self, X: sp.csr_matrix, y: npt.NDArray[Any], groups: npt.ArrayLike | None) -> Any:
        if groups is not None:
            g = np.asarray(groups)
            n_groups = np.unique(g).shape[0]
            if n_groups >= 3:
                return GroupKFold(n_splits=min(self.calibration_folds, n_groups)).split(X, y, g)
        _, counts = np.unique(y, return_counts=True)
        n_splits = max(2, min(self.calibration_folds, int(counts.min())))
        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state).split(X, y)

    def decision_function(self, X: sp.csr_matrix) -> npt.NDArray[np.float64]:
        check_is_fitted(self, "coef_")
        scores = np.asarray(X @ self.coef_.T, dtype=np.float64)
        scores += self.intercept_
        return scores

    def predict_proba(self, X: sp.csr_matrix) -> npt.NDArray[np.float64]:
        return softmax(self.decision_function(X) / self.temperature_)

    def predict(self, X: sp.csr_matrix) -> npt.NDArray[Any]:
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _fit_temperature(
    scores: npt.NDArray[np.float64], y_idx: npt.NDArray[np.int64], weights: npt.NDArray[np.float64] | None
) -> float:
    w = np.ones(scores.shape[0]) if weights is None else weights
    w = w / w.sum()

    def nll(log_t: float) -> float:
        z = scores / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        logp = z[np.arange(z.shape[0]), y_idx] - np.log(np.exp(z).sum(axis=1))
        return float(-(w * logp).sum())

    result = minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
    return float(math.exp(result.x))


def build_pipeline(**params: Any) -> Pipeline:
    """Return the unfitted pipeline; ``params`` override :data:`DEFAULT_PARAMS` (unknown keys raise)."""
    merged = {**DEFAULT_PARAMS, **params}
    unknown = set(merged) - set(_FEATURE_KEYS) - set(_CLF_KEYS)
    if unknown:
        raise TypeError(f"unknown pipeline parameter(s): {sorted(unknown)}")
    features = MentionFeaturizer(**{k: _tuple(merged[k]) for k in _FEATURE_KEYS if k in merged})
    clf = CalibratedLinearClassifier(**{k: merged[k] for k in _CLF_KEYS if k in merged})
    return Pipeline([("normalize", TextNormalizer()), ("features", features), ("clf", clf)])


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
