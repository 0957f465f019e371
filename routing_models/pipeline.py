"""The scikit-learn pipeline: normalise → hashed word/char n-gram TF-IDF + cue lexicons → calibrated LR.

``build_pipeline(**params)`` returns an unfitted :class:`sklearn.pipeline.Pipeline` with three steps:

* ``normalize`` – :class:`TextNormalizer` (``routing_models.normalize.normalize`` on every text);
* ``features``  – :class:`MentionFeaturizer`: hashed word 1–2-grams and character 3–5-grams, each
  block IDF-weighted and L2-normalised, plus 26 cue-group counts (``routing_models.lexicon``);
* ``clf``       – :class:`CalibratedLinearClassifier`: logistic regression (averaged SGD by default)
  whose probabilities are temperature-scaled and then top-label Platt-scaled; both are fitted on
  out-of-fold predictions (grouped by source family when ``groups`` are passed, so they reflect
  *cross-source* confidence).

Fit with ``pipeline.fit(texts, labels, features__groups=g, clf__sample_weight=w, clf__groups=g)``
(:func:`routing_models.train.train` does this).

Custom estimators follow the scikit-learn conventions: ``__init__`` only stores its arguments,
fitted attributes end with ``_``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]  # scipy ships no type hints
from scipy.optimize import minimize, minimize_scalar  # type: ignore[import-untyped]  # scipy ships no type hints
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.linear_model import LogisticRegression, SGDClassifier  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.model_selection import GroupKFold, StratifiedKFold  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.utils.validation import check_is_fitted  # type: ignore[import-untyped]  # sklearn ships no type hints

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
    "min_groups": 1,
    "C": 2.0,
    "solver": "sgd",
    "max_iter": 50,
    "calibration": "temperature+platt",
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
    "min_groups",
)
_CLF_KEYS = ("C", "solver", "calibration", "calibration_folds", "max_iter", "random_state", "class_bias")


def _pair(value: Any) -> tuple[int, int]:
    low, high = value
    return int(low), int(high)


def softmax(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Row-wise softmax."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return np.asarray(shifted, dtype=np.float64)


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
            _hashing.word_ngrams(docs, _pair(self.word_ngram_range), self.word_n_features),
            n,
            self.word_n_features,
            group_index,
        )
        self.char_columns_, self.idf_char_ = self._idf(
            _hashing.char_ngrams(docs, _pair(self.char_ngram_range), self.char_n_features),
            n,
            self.char_n_features,
            group_index,
        )
        self.lexicon_groups_ = list(CUE_GROUPS)
        self.lexicon_bucket_row_, self.lexicon_membership_ = _lexicon_tables(self.word_n_features)
        self.n_word_ = int(self.idf_word_.shape[0]) - 1
        self.n_char_ = int(self.idf_char_.shape[0]) - 1
        self.n_features_out_ = self.n_word_ + self.n_char_ + (len(self.lexicon_groups_) if self.lexicon_weight > 0 else 0)
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
        wspans = _hashing.word_ngrams(docs, _pair(self.word_ngram_range), self.word_n_features, with_spans=with_spans)
        cspans = _hashing.char_ngrams(docs, _pair(self.char_ngram_range), self.char_n_features, with_spans=with_spans)
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

    def cue_counts(self, wspans: _hashing.NgramSpans, n_docs: int) -> npt.NDArray[np.float64]:
        """Number of cues of each group per document, shape ``(n_docs, len(lexicon_groups_))``."""
        return self._cue_counts_and_hits(wspans, n_docs)[0]

    def _cue_counts_and_hits(
        self, wspans: _hashing.NgramSpans, n_docs: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """:meth:`cue_counts` and the mask of the word n-grams that are cues."""
        bucket_rows = self.lexicon_bucket_row_[wspans.col]
        hit = bucket_rows >= 0
        hit_docs = wspans.doc[hit]
        members = self.lexicon_membership_[bucket_rows[hit]]
        counts = np.stack(
            [np.bincount(hit_docs, weights=members[:, g], minlength=n_docs) for g in range(members.shape[1])], axis=1
        )
        return counts, hit

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
            for r, (_, cols, values, keep) in zip(spans.runs(), blocks[prefix]):
                starts = spans.start[r][keep].tolist()
                ends = spans.end[r][keep].tolist()
                for a, b, col, value in zip(starts, ends, cols.tolist(), values.tolist()):
                    name = f"{prefix}:" + spans.joined[a:b].replace(" ", "_")
                    out[(name, col)] = out.get((name, col), 0.0) + value
        offset = self.n_word_ + self.n_char_
        for _, cols, values, _ in blocks.get("lex", []):
            for col, value in zip(cols.tolist(), values.tolist()):
                out[("lex:" + self.lexicon_groups_[col - offset], col)] = value
        return [(name, col, value) for (name, col), value in out.items()]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


_NON_ALNUM_RE = re.compile(r"[^0-9a-z\u0080-\U0010ffff]+")


def _lexicon_tables(n_features: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """Cue-group lookup for hashed word n-grams.

    Returns ``bucket_row`` (hashed bucket → row of ``membership`` or -1) and ``membership``
    (one row per cue bucket, one 0/1 column per group of :data:`CUE_GROUPS`).
    """
    pairs: set[tuple[int, int]] = set()
    for index, phrases in enumerate(CUE_GROUPS.values()):
        normalised = sorted({" ".join(_NON_ALNUM_RE.sub(" ", normalize(p)).split()) for p in phrases})
        too_long = [p for p in normalised if len(p.split()) > 2]
        if too_long:
            raise ValueError(f"cue phrases must be unigrams or bigrams: {too_long}")
        for n in (1, 2):
            group = [p for p in normalised if len(p.split()) == n]
            if group:
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


class CalibratedLinearClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Logistic regression with cross-source calibrated probabilities.

    ``solver="sgd"`` (default): one-vs-rest logistic loss trained by averaged SGD for
    ``max_iter`` epochs (seconds instead of minutes on ~10k rows × 150k features, which makes
    leave-one-source-out CV and correction retraining cheap); ``solver="lbfgs"``: multinomial
    :class:`~sklearn.linear_model.LogisticRegression`.  Both use the same regularisation
    scale ``C`` (SGD ``alpha = 1 / (C · n_samples)``).

    ``fit(X, y, sample_weight=None, groups=None)``:

    1. out-of-fold decision scores from ``calibration_folds`` folds – ``GroupKFold`` over
       ``groups`` when given (so that calibration sees *unseen-source* scores), otherwise
       ``StratifiedKFold``;
    2. the temperature ``T`` minimising the (weighted) log-loss of ``softmax(scores / T)``;
       optionally (``class_bias=True``) per-class logit offsets ``bias_``;
    3. with ``calibration="temperature+platt"``: ``P(correct) = sigmoid(a·logit(conf) + b)`` on
       the top-label confidence (``platt_``); it rescales the other classes and never changes
       the predicted label;
    4. a final fit on all rows.  Only ``coef_`` (float32) and ``intercept_`` are kept.

    ``calibration="none"`` skips 1–3.  ``decision_function`` returns the raw linear scores
    (used by :meth:`routing_models.model.Classifier.explain`).
    """

    def __init__(
        self,
        C: float = 2.0,
        solver: str = "sgd",
        calibration: str = "temperature+platt",
        calibration_folds: int = 5,
        max_iter: int = 50,
        random_state: int = 0,
        class_bias: bool = False,
    ) -> None:
        self.C = C
        self.class_bias = class_bias
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
        if self.calibration not in ("temperature", "temperature+platt", "none"):
            raise ValueError(f"calibration must be 'temperature', 'temperature+platt' or 'none', got {self.calibration!r}")
        y_arr = np.asarray(y)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.classes_ = np.unique(y_arr)
        temperature = 1.0
        platt = (1.0, 0.0)
        bias = np.zeros(self.classes_.shape[0])
        if self.calibration != "none" and self.calibration_folds >= 2:
            oof = np.zeros((X.shape[0], self.classes_.shape[0]))
            fold_tests: list[npt.NDArray[np.int64]] = []
            for train_idx, test_idx in self._folds(X, y_arr, groups):
                fold_tests.append(np.asarray(test_idx, dtype=np.int64))
                lr = self._fit_lr(X[train_idx], y_arr[train_idx], None if weights is None else weights[train_idx])
                scores = lr.decision_function(X[test_idx])
                # a fold may miss a class entirely: map its columns into the full class list
                cols = np.searchsorted(self.classes_, lr.classes_)
                full = np.full((len(test_idx), self.classes_.shape[0]), -1e3)
                full[:, cols] = scores
                oof[test_idx] = full
            y_idx = np.searchsorted(self.classes_, y_arr)
            temperature = _fit_temperature(oof, y_idx, weights)
            if self.class_bias:
                bias = _fit_class_bias(oof / temperature, y_idx, weights)
            if self.calibration == "temperature+platt":
                platt = _fit_top_label_platt(softmax(oof / temperature + bias), y_idx, weights)
            # kept for the refiner head (routing_models.refine), which calibrates on the same folds;
            # routing_models.train removes it before the model is saved
            self.oof_ = (oof, fold_tests)
        lr = self._fit_lr(X, y_arr, weights)
        self.coef_ = lr.coef_.astype(np.float32)
        self.intercept_ = lr.intercept_.astype(np.float64)
        self.temperature_ = float(temperature)
        self.platt_ = (float(platt[0]), float(platt[1]))
        self.bias_ = bias.astype(np.float64)
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

    def _calibrated_logits(self, X: sp.csr_matrix) -> npt.NDArray[np.float64]:
        return self._logits_from_decision(self.decision_function(X))

    def _logits_from_decision(self, scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        logits = scores / self.temperature_
        bias = getattr(self, "bias_", None)
        if bias is not None:
            logits += bias
        return logits

    def proba_from_decision(self, scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Calibrated probabilities from raw linear scores (see :class:`routing_models.scoring.CompiledScorer`)."""
        proba = softmax(self._logits_from_decision(scores))
        a, b = getattr(self, "platt_", (1.0, 0.0))
        if (a, b) != (1.0, 0.0):
            proba = _apply_top_label_platt(proba, a, b)
        return proba

    def predict_proba(self, X: sp.csr_matrix) -> npt.NDArray[np.float64]:
        return self.proba_from_decision(self.decision_function(X))

    def predict(self, X: sp.csr_matrix) -> npt.NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self._calibrated_logits(X), axis=1)])

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


def _fit_class_bias(
    logits: npt.NDArray[np.float64], y_idx: npt.NDArray[np.int64], weights: npt.NDArray[np.float64] | None
) -> npt.NDArray[np.float64]:
    """Per-class logit offsets (sum 0) minimising the weighted log-loss of ``softmax(logits + b)``."""
    w = np.ones(logits.shape[0]) if weights is None else weights
    w = w / w.sum()
    onehot = np.eye(logits.shape[1])[y_idx]

    def loss_grad(b: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        p = softmax(logits + b)
        loss = -(w * np.log(np.clip((p * onehot).sum(axis=1), 1e-12, None))).sum()
        grad = ((p - onehot) * w[:, None]).sum(axis=0)
        return float(loss), grad

    result = minimize(loss_grad, np.zeros(logits.shape[1]), jac=True, method="L-BFGS-B", bounds=[(-3, 3)] * logits.shape[1])
    b = np.asarray(result.x, dtype=np.float64)
    return np.asarray(b - b.mean(), dtype=np.float64)


def _logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _fit_top_label_platt(
    proba: npt.NDArray[np.float64], y_idx: npt.NDArray[np.int64], weights: npt.NDArray[np.float64] | None
) -> tuple[float, float]:
    """Fit ``P(correct) = sigmoid(a * logit(top confidence) + b)`` by weighted log-loss."""
    x = _logit(proba.max(axis=1))
    correct = (proba.argmax(axis=1) == y_idx).astype(np.float64)
    w = np.ones(x.shape[0]) if weights is None else weights
    w = w / w.sum()

    def loss(theta: npt.NDArray[np.float64]) -> float:
        z = theta[0] * x + theta[1]
        return float((w * (np.logaddexp(0, z) - correct * z)).sum())

    result = minimize(loss, np.array([1.0, 0.0]), method="L-BFGS-B", bounds=[(0.05, 5.0), (-5.0, 5.0)])
    return float(result.x[0]), float(result.x[1])


def _apply_top_label_platt(proba: npt.NDArray[np.float64], a: float, b: float) -> npt.NDArray[np.float64]:
    """Replace each row's top probability by its Platt-mapped value, rescale the others to sum to 1.

    The new top value is clipped from below so that the argmax (the predicted label) never changes.
    """
    proba = proba.copy()
    rows = np.arange(proba.shape[0])
    top = proba.argmax(axis=1)
    conf = proba[rows, top]
    new = 1.0 / (1.0 + np.exp(-(a * _logit(conf) + b)))
    rest = 1.0 - conf
    second = np.partition(proba, -2, axis=1)[:, -2] if proba.shape[1] > 1 else np.zeros_like(conf)
    floor = np.where(rest > 0, second / np.maximum(rest + second, 1e-12), 0.0)
    new = np.clip(np.maximum(new, floor + 1e-9), 0.0, 1.0)
    scale = np.where(rest > 1e-12, (1.0 - new) / np.maximum(rest, 1e-12), 0.0)
    proba *= scale[:, None]
    proba[rows, top] = new
    proba /= proba.sum(axis=1, keepdims=True)
    return proba


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
