"""Calibrated probabilities: a linear classifier whose confidence reflects unseen sources.

:class:`CalibratedLinearClassifier` is logistic regression (averaged SGD by default) whose
probabilities are temperature-scaled and then top-label Platt-scaled, both fitted on out-of-fold
predictions (grouped by source family when ``groups`` are passed). The fitting and applying
functions are shared with the refiner head (:mod:`routing_models.refine`), which calibrates the
same way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]  # scipy ships no type hints
from scipy.optimize import minimize, minimize_scalar  # type: ignore[import-untyped]  # scipy ships no type hints
from sklearn.base import BaseEstimator, ClassifierMixin  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.linear_model import LogisticRegression, SGDClassifier  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.model_selection import GroupKFold, StratifiedKFold  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.utils.validation import check_is_fitted  # type: ignore[import-untyped]  # sklearn ships no type hints

__all__ = [
    "CalibratedLinearClassifier",
    "softmax",
    "fit_temperature",
    "fit_top_label_platt",
    "apply_top_label_platt",
]


def softmax(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Row-wise softmax."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return np.asarray(shifted, dtype=np.float64)



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
            raise ValueError(
                f"calibration must be 'temperature', 'temperature+platt' or 'none', got {self.calibration!r}"
            )
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
            temperature = fit_temperature(oof, y_idx, weights)
            if self.class_bias:
                bias = _fit_class_bias(oof / temperature, y_idx, weights)
            if self.calibration == "temperature+platt":
                platt = fit_top_label_platt(softmax(oof / temperature + bias), y_idx, weights)
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
            proba = apply_top_label_platt(proba, a, b)
        return proba

    def predict_proba(self, X: sp.csr_matrix) -> npt.NDArray[np.float64]:
        return self.proba_from_decision(self.decision_function(X))

    def predict(self, X: sp.csr_matrix) -> npt.NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self._calibrated_logits(X), axis=1)])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def fit_temperature(
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

    result = minimize(
        loss_grad, np.zeros(logits.shape[1]), jac=True, method="L-BFGS-B", bounds=[(-3, 3)] * logits.shape[1]
    )
    b = np.asarray(result.x, dtype=np.float64)
    return np.asarray(b - b.mean(), dtype=np.float64)


def _logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_top_label_platt(
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


def apply_top_label_platt(proba: npt.NDArray[np.float64], a: float, b: float) -> npt.NDArray[np.float64]:
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

