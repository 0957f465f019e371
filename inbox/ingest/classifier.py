"""The classifier as the service uses it: the promoted model version (or the bundled default),
loaded once, swapped on promotion without a restart, run off the event loop."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

import structlog

from inbox.domain.types import Prediction

__all__ = ["TextClassifier", "ClassifierHolder", "load_classifier", "default_model_path"]

log = structlog.get_logger(__name__)


class TextClassifier(Protocol):
    """What the pipeline needs of a model: ``version``, ``labels`` and batch ``predict``."""

    version: str
    labels: list[str]

    def predict(self, texts: list[str]) -> list[Any]: ...


def default_model_path() -> Path:
    from routing_models.registry import default_artifact_path
    return default_artifact_path()


def load_classifier(path: str | Path) -> TextClassifier:
    from routing_models.registry import load
    return load(Path(path))


class ClassifierHolder:
    """Holds the current model; ``swap`` replaces it atomically (a reference assignment)."""

    def __init__(self, model: TextClassifier) -> None:
        self.model = model

    @property
    def version(self) -> str:
        return self.model.version

    def swap(self, model: TextClassifier) -> None:
        old = self.model.version
        self.model = model
        log.info("model_swapped", old_version=old, new_version=model.version)

    def predict(self, texts: list[str]) -> list[Prediction]:
        model = self.model
        version = model.version
        from routing_models.model import Classifier
        if isinstance(model, Classifier):
            # straight from the probabilities (what Classifier.predict builds its answers from),
            # without an intermediate Prediction per text
            labels = model.labels
            out_rows: list[Prediction] = []
            for row in model.predict_proba(texts).tolist():
                best = row.index(max(row))  # the first of equal maxima, as Classifier.predict
                out_rows.append(Prediction(label=labels[best], confidence=row[best],
                                           probabilities=dict(zip(labels, row, strict=True)), model_version=version))
            return out_rows
        out = model.predict(texts)
        return [Prediction(label=p.label, confidence=float(p.confidence),
                           probabilities={k: float(v) for k, v in p.probabilities.items()},
                           model_version=version) for p in out]

    async def apredict(self, texts: list[str]) -> list[Prediction]:
        """Predict in the default thread pool so the event loop keeps serving requests."""
        if not texts:
            return []
        return await asyncio.get_running_loop().run_in_executor(None, self.predict, texts)

    def explain(self, text: str, top: int = 5) -> dict[str, list[tuple[str, float]]] | None:
        fn = getattr(self.model, "explain", None)
        return fn(text, top=top) if fn else None
