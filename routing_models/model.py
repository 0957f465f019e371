"""The :class:`Classifier` wrapper: a fitted pipeline plus its metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]  # sklearn ships no type hints

from routing_models.scoring import CompiledScorer

__all__ = ["Prediction", "Classifier"]


@dataclass(frozen=True)
class Prediction:
    """One classified mention: best label, its probability, and all class probabilities."""

    label: str
    confidence: float
    probabilities: dict[str, float] = field(default_factory=dict)


class Classifier:
    """A fitted routing model (see :func:`routing_models.pipeline.build_pipeline`) and its metadata.

    ``version`` and ``labels`` come from ``metadata`` / the pipeline; ``metadata`` is the JSON-able
    dict written next to the artifact (data hashes, parameters, library versions, scores).
    Prediction is CPU-bound and synchronous: call it off the event loop (e.g. ``run_in_executor``).
    """

    def __init__(self, pipeline: Pipeline, metadata: dict[str, Any], refiner: dict[str, Any] | None = None) -> None:
        self.pipeline = pipeline
        self.metadata = metadata
        #: the refiner head (:mod:`routing_models.refine`), or None for a model trained without an encoder
        self.refiner = refiner
        self.labels: list[str] = [str(c) for c in pipeline.classes_]
        self.version: str = str(metadata.get("version", "unversioned"))
        # a table per n-gram block (about 7 MB, 10 ms to build), so prediction skips the sparse matrix
        self._scorer = CompiledScorer(pipeline)

    def __repr__(self) -> str:
        return f"Classifier(version={self.version!r}, labels={self.labels!r})"

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Probabilities, shape ``(len(texts), len(labels))``, columns in ``labels`` order."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self._scorer.predict_proba(texts)

    def refined_proba(self, texts: Sequence[str], encoder: Any) -> npt.NDArray[np.float64]:
        """The blend of the n-gram model and the encoder head (:mod:`routing_models.refine`),
        shape ``(len(texts), len(labels))``, for the texts below the head's confidence band; the
        others keep :meth:`predict_proba` and are not embedded.  About 2 ms of CPU a refined mention: for
        the background refiner."""
        from routing_models.refine import blend_proba, encoder_identity, head_matches, needs_second_look

        if self.refiner is None:
            raise ValueError(f"model {self.version} has no refiner head (trained without an encoder)")
        if not head_matches(self.refiner, encoder):
            fitted, given = self.refiner.get("encoder") or "unnamed", encoder_identity(encoder) or "unnamed"
            raise ValueError(f"model {self.version}'s refiner head was fitted on another encoder's vectors "
                             f"({fitted}), not {given}")
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        proba, logits = self._scorer.proba_and_logits(texts)
        rows = np.flatnonzero(needs_second_look(self.refiner, proba))
        if rows.size:
            proba[rows] = blend_proba(self.refiner, logits[rows], encoder.encode([texts[i] for i in rows]))
        return proba

    def predict_refined(self, texts: Sequence[str], encoder: Any) -> list[Prediction]:
        """Like :meth:`predict`, from :meth:`refined_proba`."""
        return self._predictions(self.refined_proba(texts, encoder))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One :class:`Prediction` per text, in order."""
        return self._predictions(self.predict_proba(texts))

    def _predictions(self, proba: npt.NDArray[np.float64]) -> list[Prediction]:
        out: list[Prediction] = []
        labels = self.labels
        for row in proba.tolist():
            best = max(range(len(row)), key=row.__getitem__)
            out.append(
                Prediction(
                    label=labels[best],
                    confidence=float(row[best]),
                    probabilities={label: float(p) for label, p in zip(labels, row, strict=False)},
                )
            )
        return out

    def explain(self, text: str, top: int = 5) -> dict[str, list[tuple[str, float]]]:
        """Top ``top`` feature contributions (name, coefficient × value) per label, largest first.

        Uses the linear model underneath the calibration (temperature scaling does not change
        the ranking).  Names: ``w:<word n-gram>``, ``c:<char n-gram>`` (``_`` = space),
        ``lex:<department>`` for the cue-lexicon features.  Only positive contributions are listed.
        """
        normalizer = self.pipeline.named_steps["normalize"]
        featurizer = self.pipeline.named_steps["features"]
        clf = self.pipeline.named_steps["clf"]
        doc = normalizer.transform([text])[0]
        contributions = featurizer.feature_contributions(doc)
        coef = np.asarray(clf.coef_, dtype=np.float64)
        out: dict[str, list[tuple[str, float]]] = {}
        for class_index, label in enumerate(self.labels):
            scored = [(name, float(coef[class_index, col] * value)) for name, col, value in contributions]
            scored = [item for item in scored if item[1] > 0]
            scored.sort(key=lambda item: (-item[1], item[0]))
            out[label] = scored[:top]
        return out
