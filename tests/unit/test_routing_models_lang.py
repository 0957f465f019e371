"""Batch language detection gives py3langid's own answers, text by text."""

from __future__ import annotations

import re

import pytest

from routing_models import lang
from routing_models.data import SEED_PATHS, load_jsonl

_LETTER = re.compile(r"[^\W\d_]")

EDGE = [
    "", "ab", "a b c", "123 !!", "@acme #launch https://x.y/z", "ÀÉÎ", "日本語のテキストです", "x" * 600,
    "Il servizio clienti non risponde da giorni. " * 30,  # longer than the batch walk's width
    "THE ORDER NEVER ARRIVED", "\x00null\x00bytes\x00", "emoji only 😡😡",
]


def _reference(text: str) -> str | None:
    """The rule of ``detect_language`` on top of py3langid's ``classify``, one text at a time."""
    ident = lang._get_model().identifier
    cleaned = lang._STRIP_RE.sub(" ", text or "")
    if len(_LETTER.findall(cleaned)) < 3:
        return None
    language, confidence = ident.classify(cleaned)  # type: ignore[attr-defined]
    return str(language) if confidence >= 0.5 else None


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [str(r["text"]) for path in SEED_PATHS for r in load_jsonl(path)] + EDGE


@pytest.mark.parametrize("batch", [1, 15, 16, 300, 5000])
def test_batches_give_py3langids_answers(texts: list[str], batch: int) -> None:
    expected = [_reference(t) for t in texts]
    got: list[str | None] = []
    for start in range(0, len(texts), batch):
        got += lang.detect_languages(texts[start : start + batch])
    assert got == expected
    assert {"en", "it", "pt", "es", "fr", "de"} <= set(got)  # the comparison covers every path's answers


def test_chunking_and_long_texts(texts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Small chunks and a small width put most texts on the boundaries of both paths."""
    monkeypatch.setattr(lang, "_CHUNK", 7)
    monkeypatch.setattr(lang, "_WIDTH", 90)
    sample = texts[::5] + EDGE
    assert lang.detect_languages(sample) == [_reference(t) for t in sample]


def test_probabilities_are_py3langids(texts: list[str]) -> None:
    model = lang._get_model()
    ident = model.identifier
    sample = [lang._STRIP_RE.sub(" ", t) for t in texts[:200]]
    encoded = [ident._encode(t) for t in sample]  # type: ignore[attr-defined]
    proba = lang._probabilities(model, encoded)
    for row, text in zip(proba, encoded):
        ref = dict(ident.rank(text))  # type: ignore[attr-defined]
        assert row.tolist() == pytest.approx([ref[code] for code in model.languages], abs=1e-5)
