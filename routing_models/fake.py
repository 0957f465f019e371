"""A keyword-rule stand-in for :class:`routing_models.model.Classifier`, for fast tests of other packages.

Same interface (``version``, ``labels``, ``metadata``, ``predict``, ``predict_proba``, ``explain``),
no training, deterministic, microseconds per call.  Rules (first match by score, ties → the
``default_label``): a handful of EN/IT keywords per department.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from routing_models.model import Prediction
from routing_models.normalize import normalize

__all__ = ["FakeClassifier", "FAKE_RULES"]

FAKE_RULES: dict[str, tuple[str, ...]] = {
    "customer_care": (
        "refund", "order", "delivery", "broken", "not working", "help", "account", "bill", "charged",
        "rimborso", "ordine", "consegna", "non funziona", "aiuto", "bolletta", "assistenza",
    ),
    "hr": (
        "job", "hiring", "interview", "salary", "career", "recruiter", "resume", "manager",
        "lavoro", "assunzion", "colloquio", "stipendio", "candidatura", "concorso",
    ),
    "marketing": (
        "love", "price", "offer", "discount", "new", "best", "launch", "contest",
        "adoro", "prezzo", "offerta", "sconto", "nuovo", "migliore",
    ),
    "pr": (
        "ceo", "shares", "lawsuit", "earnings", "acquisition", "press", "journalist", "boycott",
        "azioni", "causa", "utile", "acquisizione", "giornalista", "multa", "sciopero",
    ),
}


class FakeClassifier:
    """Keyword rules with the :class:`~routing_models.model.Classifier` interface."""

    def __init__(
        self,
        rules: dict[str, Sequence[str]] | None = None,
        *,
        default_label: str = "customer_care",
        version: str = "fake-00000000",
    ) -> None:
        table: dict[str, Sequence[str]] = dict(rules) if rules else dict(FAKE_RULES)
        self.labels: list[str] = sorted(table)
        if default_label not in self.labels:
            raise ValueError(f"default_label {default_label!r} not among {self.labels}")
        self.default_label = default_label
        self.version = version
        self.metadata: dict[str, Any] = {"version": version, "labels": self.labels, "fake": True}
        self._patterns = {
            label: [(kw, re.compile(r"\b" + re.escape(normalize(kw)))) for kw in table[label]]
            for label in self.labels
        }

    def _hits(self, text: str) -> dict[str, list[str]]:
        doc = normalize(text)
        return {label: [kw for kw, pat in pats if pat.search(doc)] for label, pats in self._patterns.items()}

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        out = np.zeros((len(texts), len(self.labels)))
        for i, text in enumerate(texts):
            hits = self._hits(text)
            scores = np.array([1.0 + 4.0 * len(hits[label]) for label in self.labels])
            if scores.max() == 1.0:
                scores[self.labels.index(self.default_label)] += 1.0
            out[i] = scores / scores.sum()
        return out

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        proba = self.predict_proba(list(texts))
        preds = []
        for row in proba:
            best = int(row.argmax())
            preds.append(
                Prediction(
                    label=self.labels[best],
                    confidence=float(row[best]),
                    probabilities={label: float(p) for label, p in zip(self.labels, row, strict=False)},
                )
            )
        return preds

    def explain(self, text: str, top: int = 5) -> dict[str, list[tuple[str, float]]]:
        hits = self._hits(text)
        return {label: [(f"kw:{kw}", 4.0) for kw in hits[label][:top]] for label in self.labels}
