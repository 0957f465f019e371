"""The refiner head: a second opinion from sentence embeddings, blended with the n-gram model.

The n-gram model learns words; a held-out *source* brings words and styles it has not seen.  A
sentence encoder (:mod:`routing_models.encoder_use`) carries meaning across sources, and a logistic
regression on its embeddings makes different mistakes, so the blend of the two generalises better
in leave-one-source-out validation (docs/classifier.md, "Second look (encoder)").  It is far too
slow for the ingest path (tens of milliseconds of CPU per mention), so the inbox routes with the
n-gram model at once and a background refiner re-scores items with the blend.

The blend: ``z = (1 − w)·log softmax(s_ngram / T_ngram) + w·log softmax(s_encoder / T_encoder)``,
then a temperature ``T_blend`` and the same top-label Platt step as the n-gram model.  Every
temperature and the Platt step are fitted on out-of-fold scores from the n-gram model's own
source-grouped folds, so they reflect confidence on unseen sources.  ``w`` (0.5, the
leave-one-source-out choice) and the head's ``C`` (0.3) are discussed in docs/classifier.md,
"Second look (encoder)".

**The band.** The second look pays only where the n-gram model is unsure.  Leave-one-source-out
(40 families, 8,991 rows) and dev_crosssource agree: the blend changes 35% of the labels below 0.6
(accuracy 0.53 → 0.70), 11% between 0.6 and 0.8, 1.6% between 0.8 and 0.9, 0.1% between 0.9 and 0.95
and none above 0.95.  So a head records ``band`` (0.95): a mention whose n-gram confidence is at
least that keeps the n-gram model's probabilities and is never embedded (about a quarter of mentions,
the costliest part of the second look saved; docs/classifier.md, "Ninth round").  A head without
``band`` (trained before it) refines everything.

A head is a plain dict of numbers and arrays (so the skops artifact needs no new trusted type).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import log_softmax  # type: ignore[import-untyped]  # scipy ships no type hints
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]  # sklearn ships no type hints

from routing_models.calibration import apply_top_label_platt, fit_temperature, fit_top_label_platt, softmax

__all__ = [
    "REFINER_DEFAULTS",
    "HEAD_FORMAT",
    "fit_head",
    "encoder_lr",
    "full_scores",
    "blend_scores",
    "blend_logits",
    "blend_proba",
    "embed_cached",
    "encoder_identity",
    "head_matches",
    "needs_second_look",
]

#: ``refine_weight`` = w above, ``refine_C`` = C of the logistic regression on the embeddings,
#: ``refine_band``: only mentions whose n-gram confidence is below it get the second look (see ``band``).
REFINER_DEFAULTS: dict[str, float] = {"refine_weight": 0.5, "refine_C": 0.3, "refine_band": 0.95}
HEAD_FORMAT = 1
F64 = npt.NDArray[np.float64]


def encoder_lr(
    emb: npt.NDArray[np.float32], y_idx: npt.NDArray[np.int64], weights: F64, C: float
) -> LogisticRegression:
    """The head's logistic regression on embeddings, with the training rows' sample weights."""
    lr = LogisticRegression(C=C, max_iter=2000)
    lr.fit(emb, y_idx, sample_weight=weights)
    return lr


def full_scores(lr: LogisticRegression, emb: npt.NDArray[np.float32], n_classes: int) -> F64:
    """Decision scores in all ``n_classes`` columns (a fold may miss a class: its column gets -1e3)."""
    scores = lr.decision_function(emb)
    if scores.ndim == 1:  # two classes seen: sklearn returns one column
        scores = np.stack([-scores, scores], axis=1)
    full = np.full((emb.shape[0], n_classes), -1e3)
    full[:, np.asarray(lr.classes_, dtype=np.int64)] = scores
    return full


def fit_head(
    emb: npt.NDArray[np.float32],
    y_idx: npt.NDArray[np.int64],
    weights: F64,
    folds: Sequence[npt.NDArray[np.int64]],
    ngram_oof: F64,
    ngram_logits: Any,
    *,
    weight: float = REFINER_DEFAULTS["refine_weight"],
    C: float = REFINER_DEFAULTS["refine_C"],
    band: float = REFINER_DEFAULTS["refine_band"],
    encoder_sha256: str = "",
    encoder: str = "",
) -> dict[str, Any]:
    """Fit the head on embeddings ``emb`` (rows × 384) with labels ``y_idx`` (indices into the
    n-gram model's classes) and sample ``weights``.  ``folds`` are the test-index arrays of the
    n-gram model's calibration folds, ``ngram_oof`` its out-of-fold decision scores on them, and
    ``ngram_logits`` the function that turns decision scores into its calibrated logits."""
    n_classes = int(ngram_oof.shape[1])
    enc_oof = np.zeros((emb.shape[0], n_classes))
    everything = np.arange(emb.shape[0])
    for test_idx in folds:
        train_idx = np.setdiff1d(everything, test_idx)
        lr = encoder_lr(emb[train_idx], y_idx[train_idx], weights[train_idx], C)
        enc_oof[test_idx] = full_scores(lr, emb[test_idx], n_classes)
    t_enc = fit_temperature(enc_oof, y_idx, weights)
    head: dict[str, Any] = {
        "format": HEAD_FORMAT,
        "weight": float(weight),
        "C": float(C),
        "band": float(band),
        "temperature_encoder": float(t_enc),
        "temperature_blend": 1.0,
        "platt": [1.0, 0.0],
        "encoder_sha256": encoder_sha256,
        "encoder": encoder,
    }
    blended = blend_scores(ngram_logits(ngram_oof), enc_oof / t_enc, weight)
    t_blend = fit_temperature(blended, y_idx, weights)
    a, b = fit_top_label_platt(softmax(blended / t_blend), y_idx, weights)
    final = encoder_lr(emb, y_idx, weights, C)
    coef = np.zeros((n_classes, emb.shape[1]), dtype=np.float32)
    intercept = np.full(n_classes, -1e3)
    full_coef = final.coef_ if final.coef_.shape[0] > 1 else np.vstack([-final.coef_, final.coef_])
    icpt = final.intercept_
    full_icpt = icpt if icpt.shape[0] > 1 else np.concatenate([-icpt, icpt])
    coef[np.asarray(final.classes_, dtype=np.int64)] = full_coef
    intercept[np.asarray(final.classes_, dtype=np.int64)] = full_icpt
    head.update(
        coef=coef,
        intercept=intercept.astype(np.float64),
        temperature_blend=float(t_blend),
        platt=[float(a), float(b)],
    )
    return head


def needs_second_look(head: dict[str, Any], fast_proba: F64) -> npt.NDArray[np.bool_]:
    """Rows whose n-gram confidence (top calibrated probability) is below the head's ``band``."""
    return np.asarray(fast_proba.max(axis=1) < float(head.get("band", 1.0)))


def blend_scores(ngram_logits: F64, encoder_logits: F64, weight: float) -> F64:
    """``(1 − w)·log softmax(ngram) + w·log softmax(encoder)``, row-wise."""
    return np.asarray((1.0 - weight) * log_softmax(ngram_logits, axis=1) + weight * log_softmax(encoder_logits, axis=1))


def blend_logits(head: dict[str, Any], ngram_logits: F64, emb: npt.NDArray[np.float32]) -> F64:
    """The blend's logits (before the top-label Platt step) from the n-gram model's calibrated logits."""
    enc = emb.astype(np.float64) @ np.asarray(head["coef"], dtype=np.float64).T + np.asarray(head["intercept"])
    blended = blend_scores(ngram_logits, enc / float(head["temperature_encoder"]), float(head["weight"]))
    return blended / float(head["temperature_blend"])


def blend_proba(head: dict[str, Any], ngram_logits: F64, emb: npt.NDArray[np.float32]) -> F64:
    """Calibrated probabilities of the blend, columns in the n-gram model's class order."""
    proba = softmax(blend_logits(head, ngram_logits, emb))
    a, b = (float(v) for v in head["platt"])
    return apply_top_label_platt(proba, a, b) if (a, b) != (1.0, 0.0) else proba


def encoder_identity(encoder: Any) -> str:
    """What names an encoder's vectors: its ``identity`` (model and weights' hash), through a caching
    wrapper's ``encoder`` too; ``""`` for an object that names none."""
    inner = getattr(encoder, "encoder", None)
    return str(getattr(encoder, "identity", None) or getattr(inner, "identity", None) or "")


def head_matches(head: dict[str, Any], encoder: Any) -> bool:
    """Whether ``head`` was fitted on this encoder's vectors (a head records the encoder's identity;
    one fitted with another encoder would read vectors of another space and size)."""
    return str(head.get("encoder", "")) == encoder_identity(encoder)


def embed_cached(encoder: Any, texts: Sequence[str], cache: Path | None = None) -> npt.NDArray[np.float32]:
    """``encoder.encode(texts)``, reusing the vectors of texts already in ``cache`` (an ``.npz`` of
    keys and vectors, written back with the new ones).  A key is the SHA-256 of the encoder's identity
    and the text, so a cache written by another encoder is never read as this one's.  Retraining with
    a few new corrections then embeds only those."""
    salt = encoder_identity(encoder).encode("utf-8") + b"\0"
    keys = [hashlib.sha256(salt + t.encode("utf-8")).hexdigest() for t in texts]
    known: dict[str, npt.NDArray[np.float32]] = {}
    if cache is not None and cache.is_file():
        with np.load(cache) as saved:
            known = dict(zip((str(k) for k in saved["keys"]), saved["vectors"], strict=False))
    missing = sorted({k: t for k, t in zip(keys, texts, strict=False) if k not in known}.items())
    if missing:
        vectors = encoder.encode([t for _, t in missing])
        known.update({k: v for (k, _), v in zip(missing, vectors, strict=False)})
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(cache.name + ".tmp.npz")
            # vectors of another size (another encoder's, under other keys) cannot be stacked with these: dropped
            size = len(vectors[0])
            mine = {k: v for k, v in known.items() if len(v) == size}
            np.savez(tmp, keys=np.array(list(mine)), vectors=np.stack(list(mine.values())).astype(np.float32))
            tmp.replace(cache)
    if not texts:
        return np.zeros((0, int(getattr(encoder, "dim", 384))), dtype=np.float32)
    return np.stack([known[k] for k in keys]).astype(np.float32)
