"""Training: source-balanced sample weights, the fitted pipeline and its metadata
(leave-one-source-out cross-validation: :mod:`routing_models.cross_validation`).

Why source-balanced weights: each label of the shared corpus comes mostly from one or two
sources (SemEval headlines for ``pr``, Glassdoor fragments for ``hr``…).  Weighting every
row equally lets the model learn the *source style* instead of the department.  Here, inside
each label, every source family gets a share of the label's weight proportional to
``n_rows ** source_alpha`` (``0`` = every family equal, ``1`` = proportional to size), seed-corpus
styles are multiplied by ``seed_weight``, the share of Italian rows per label is raised to at
least ``min_it_share`` (0.4, chosen by leave-one-source-out; source balance alone gives Italian
about 0.39–0.41 of each label's weight but 0.33 of ``marketing``'s), and every label gets the same
total weight.  Weights are then scaled so
the mean non-correction row weight is 1, and capped at ``max_row_weight`` (tiny families such as
the 4 hiring tweets of the airline set would otherwise count 10–20 times each); agent corrections (``source ==
"correction"``) get
``correction_weight`` each, i.e. one correction counts like ``correction_weight`` ordinary rows.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy  # type: ignore[import-untyped]  # scipy ships no type hints
import sklearn  # type: ignore[import-untyped]  # sklearn ships no type hints
import skops  # type: ignore[import-untyped]  # skops ships no type hints

from routing_models.data import LABELS, source_group
from routing_models.evaluate import source_folds_evaluation
from routing_models.lexicon import CUE_GROUPS
from routing_models.model import Classifier
from routing_models.pipeline import _CLF_KEYS, _FEATURE_KEYS, DEFAULT_PARAMS, build_pipeline

__all__ = [
    "TRAIN_DEFAULTS",
    "split_params",
    "sample_weights",
    "head_weights",
    "data_hash",
    "make_version",
    "lexicon_hash",
    "train",
    "fit_keep_oof",
]

#: Training-level parameters (the rest of ``params`` goes to :func:`build_pipeline`).
TRAIN_DEFAULTS: dict[str, Any] = {
    "source_alpha": 0.5,
    "seed_weight": 1.0,
    "min_it_share": 0.4,
    "max_row_weight": 4.0,
    "correction_weight": 3.0,
    # the refiner head (routing_models.refine), fitted only when train() is given an encoder
    "refine_weight": 0.5,
    "refine_C": 0.3,
    "refine_band": 0.95,
    # the head's own source balance: every family of a label weighs the same (0), where the n-gram model
    # uses ``source_alpha`` (0.5); chosen by leave-one-source-out (docs/classifier.md, "Second look")
    "refine_source_alpha": 0.0,
}


def split_params(params: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (pipeline params, training params), both completed with defaults; unknown keys raise."""
    params = dict(params or {})
    unknown = set(params) - set(TRAIN_DEFAULTS) - set(_FEATURE_KEYS) - set(_CLF_KEYS)
    if unknown:
        raise TypeError(f"unknown training parameter(s): {sorted(unknown)}")
    pipe = {**DEFAULT_PARAMS, **{k: v for k, v in params.items() if k not in TRAIN_DEFAULTS}}
    pipe = {k: list(v) if isinstance(v, tuple) else v for k, v in pipe.items()}
    trn = {**TRAIN_DEFAULTS, **{k: v for k, v in params.items() if k in TRAIN_DEFAULTS}}
    return pipe, trn


def _is_seed(group: str) -> bool:
    return group.startswith("seed:")


def sample_weights(rows: Sequence[dict[str, Any]], params: dict[str, Any] | None = None) -> npt.NDArray[np.float64]:
    """Source-balanced, class-balanced sample weights (see the module docstring)."""
    _, p = split_params(params)
    groups = [source_group(r) for r in rows]
    labels = [str(r["label"]) for r in rows]
    is_it = [r.get("lang") == "it" for r in rows]
    weights = np.zeros(len(rows))
    regular = [i for i, g in enumerate(groups) if g != "correction"]
    counts = Counter((groups[i], labels[i]) for i in regular)
    for label in sorted({labels[i] for i in regular}):
        families = {g: n for (g, lab), n in counts.items() if lab == label}
        share = {
            g: (n ** float(p["source_alpha"])) * (float(p["seed_weight"]) if _is_seed(g) else 1.0)
            for g, n in families.items()
        }
        total = sum(share.values())
        idx = [i for i in regular if labels[i] == label]
        for i in idx:
            weights[i] = share[groups[i]] / total / counts[(groups[i], label)]
        target = float(p["min_it_share"])
        if target > 0:
            it_idx = [i for i in idx if is_it[i]]
            en_idx = [i for i in idx if not is_it[i]]
            it_w = weights[it_idx].sum()
            if it_idx and en_idx and it_w < target:
                weights[it_idx] *= target / it_w
                weights[en_idx] *= (1 - target) / (1 - it_w)
    if regular:
        weights[regular] *= len(regular) / weights[regular].sum()
        cap = float(p["max_row_weight"])
        if cap > 0:
            # a family of 1–5 rows would otherwise get a per-row weight of 10–20: cap it, then
            # restore equal label totals
            weights[regular] = np.minimum(weights[regular], cap)
            totals = {
                lab: weights[[i for i in regular if labels[i] == lab]].sum() for lab in set(labels[i] for i in regular)
            }
            target = len(regular) / len(totals)
            for i in regular:
                weights[i] *= target / totals[labels[i]]
    for i, g in enumerate(groups):
        if g == "correction":
            weights[i] = float(p["correction_weight"])
    return weights


def head_weights(rows: Sequence[dict[str, Any]], params: dict[str, Any] | None = None) -> npt.NDArray[np.float64]:
    """The refiner head's sample weights: :func:`sample_weights` with ``refine_source_alpha`` as the
    source balance (the Italian floor, the cap and the correction weight are the same)."""
    _, p = split_params(params)
    return sample_weights(rows, {**(params or {}), "source_alpha": float(p["refine_source_alpha"])})


def data_hash(rows: Sequence[dict[str, Any]]) -> str:
    """SHA-256 over the training rows (text, label, lang, source group), in order."""
    digest = hashlib.sha256()
    for r in rows:
        record = [r["text"], r["label"], r.get("lang"), source_group(r)]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _created_at() -> _dt.datetime:
    """Build time; honours ``SOURCE_DATE_EPOCH`` for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC)
    return _dt.datetime.now(tz=_dt.UTC).replace(microsecond=0)


def lexicon_hash() -> str:
    """SHA-256 of the cue lexicon (group names and their phrases): part of what a model is."""
    blob = json.dumps(CUE_GROUPS, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def make_version(
    data_sha: str, params: dict[str, Any], seed: int, when: _dt.datetime, lexicon_sha: str | None = None,
    encoder: str | None = None,
) -> str:
    """``m-YYYYMMDD-<first 8 hex of sha256(data hash, params, seed[, lexicon hash][, encoder identity])>``:
    a lexicon edit, or a refiner head fitted on another encoder's vectors, gives a new version even when
    the rows and parameters are the same."""
    fields: dict[str, Any] = {"data": data_sha, "params": params, "seed": seed}
    if lexicon_sha is not None:
        fields["lexicon"] = lexicon_sha
    if encoder is not None:
        fields["encoder"] = encoder
    blob = json.dumps(fields, sort_keys=True)
    return f"m-{when:%Y%m%d}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
    }


def fit_keep_oof(rows: Sequence[dict[str, Any]], params: dict[str, Any], seed: int) -> tuple[Any, Any]:
    """The fitted pipeline and its classifier's out-of-fold scores and folds (None without calibration);
    the scores are taken off the estimator so they are never saved with it."""
    pipe_params, _ = split_params(params)
    pipe_params = {k: tuple(v) if isinstance(v, list) else v for k, v in pipe_params.items()}
    pipeline = build_pipeline(**{**pipe_params, "random_state": seed})
    weights = sample_weights(rows, params)
    groups = [source_group(r) for r in rows]
    pipeline.fit(
        [str(r["text"]) for r in rows],
        [str(r["label"]) for r in rows],
        features__groups=groups,
        clf__sample_weight=weights,
        clf__groups=groups,
    )
    oof = pipeline.named_steps["clf"].__dict__.pop("oof_", None)
    return pipeline, oof


def train(
    rows: list[dict[str, Any]],
    *,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    data_files: list[dict[str, Any]] | None = None,
    evaluation_rows: dict[str, list[dict[str, Any]]] | None = None,
    loso: bool = False,
    n_jobs: int = 1,
    encoder: Any = None,
    embedding_cache: Path | None = None,
) -> Classifier:
    """Fit a :class:`Classifier` on ``rows`` (dicts with ``text``, ``label``, optional ``lang``,
    ``source``/``style``).  Deterministic for the same rows, params and seed.

    ``data_files`` (e.g. ``{"path", "sha256", "rows"}``) are recorded as given;
    ``evaluation_rows`` maps a name to rows scored with :func:`routing_models.evaluate.evaluate`;
    ``loso=True`` adds leave-one-source-out CV results (slow: one fit per source family).
    ``encoder`` (a :class:`routing_models.encoder_use.MultilingualEncoder`) adds the refiner head
    (:mod:`routing_models.refine`); embedding the rows costs about 2 ms of CPU each, and
    ``embedding_cache`` (an ``.npz`` path) keeps the vectors for the next training run.
    """
    from routing_models.evaluate import evaluate
    from routing_models.refine import encoder_identity

    if not rows:
        raise ValueError("no training rows")
    bad = sorted({str(r.get("label")) for r in rows} - set(LABELS))
    if bad:
        raise ValueError(f"unknown label(s) in training rows: {bad}")
    pipe_params, train_params = split_params(params)
    all_params = {**pipe_params, **train_params}
    data_sha = data_hash(rows)
    when = _created_at()
    lexicon_sha = lexicon_hash()
    version = make_version(data_sha, all_params, seed, when, lexicon_sha,
                           encoder_identity(encoder) if encoder is not None else None)
    pipeline, oof = fit_keep_oof(rows, all_params, seed)
    refiner, embeddings = (
        _fit_refiner(rows, pipeline, oof, all_params, encoder, embedding_cache) if encoder is not None else (None, None)
    )
    group_counts = Counter(source_group(r) for r in rows)
    metadata: dict[str, Any] = {
        "version": version,
        "created_at": when.isoformat(),
        "labels": [str(c) for c in pipeline.classes_],
        "params": all_params,
        "seed": seed,
        "data_files": list(data_files or []),
        "data_hash": data_sha,
        "lexicon_hash": lexicon_sha,
        "n_rows": len(rows),
        "label_counts": dict(sorted(Counter(str(r["label"]) for r in rows).items())),
        "lang_counts": dict(sorted(Counter(str(r.get("lang") or "unknown") for r in rows).items())),
        "source_groups": dict(sorted(group_counts.items())),
        "n_corrections": group_counts.get("correction", 0),
        "temperature": float(pipeline.named_steps["clf"].temperature_),
        "n_features": int(pipeline.named_steps["features"].n_features_out_),
        "library_versions": library_versions(),
    }
    if refiner is not None:
        metadata["refiner"] = {
            k: refiner[k]
            for k in ("weight", "C", "band", "temperature_encoder", "temperature_blend", "platt", "encoder_sha256",
                      "encoder")
        }
    clf = Classifier(pipeline, metadata, refiner=refiner)
    metadata["evaluation"] = {
        name: evaluate(clf, ev_rows, encoder=encoder) for name, ev_rows in (evaluation_rows or {}).items()
    }
    if oof is not None:
        metadata["evaluation"]["source_folds"] = source_folds_evaluation(rows, pipeline.classes_, oof[0])
    blend = None
    if refiner is not None:
        blend = {"weight": refiner["weight"], "C": refiner["C"], "temperature_encoder": refiner["temperature_encoder"],
                 "temperature_ngram": float(pipeline.named_steps["clf"].temperature_), "band": refiner["band"]}
    from routing_models.cross_validation import leave_one_source_out  # it fits with this module's helpers

    metadata["loso"] = (
        leave_one_source_out(rows, params=all_params, seed=seed, n_jobs=n_jobs, embeddings=embeddings, blend=blend)
        if loso
        else None
    )
    return clf


def _fit_refiner(
    rows: Sequence[dict[str, Any]], pipeline: Any, oof: Any, params: dict[str, Any], encoder: Any, cache: Path | None
) -> tuple[dict[str, Any], npt.NDArray[np.float32]]:
    """The refiner head, and the rows' embeddings (for leave-one-source-out)."""
    from routing_models.refine import REFINER_DEFAULTS, embed_cached, encoder_identity, fit_head

    if oof is None:
        raise ValueError("the refiner head needs the n-gram model's calibration folds (calibration must not be 'none')")
    clf = pipeline.named_steps["clf"]
    scores, folds = oof
    emb = embed_cached(encoder, [str(r["text"]) for r in rows], cache)
    y_idx = np.searchsorted(clf.classes_, [str(r["label"]) for r in rows])
    head = fit_head(
        emb,
        y_idx,
        head_weights(rows, params),
        folds,
        scores,
        clf._logits_from_decision,
        weight=float(params.get("refine_weight", REFINER_DEFAULTS["refine_weight"])),
        C=float(params.get("refine_C", REFINER_DEFAULTS["refine_C"])),
        band=float(params.get("refine_band", REFINER_DEFAULTS["refine_band"])),
        encoder_sha256=str(getattr(encoder, "sha256", "") or getattr(getattr(encoder, "encoder", None), "sha256", "")),
        encoder=encoder_identity(encoder),
    )
    return head, emb
