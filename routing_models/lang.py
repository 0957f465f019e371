"""Offline language detection with py3langid, restricted to a small set of European languages."""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable

__all__ = ["LANGUAGES", "detect_language", "detect_languages"]

#: Languages the detector may answer; everything else is forced into one of these or ``None``.
LANGUAGES: tuple[str, ...] = ("en", "it", "es", "fr", "de", "pt", "nl")

_MIN_LETTERS = 3
_MIN_CONFIDENCE = 0.5
_STRIP_RE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|\{link\}")
_LETTER_RE = re.compile(r"[^\W\d_]")

_lock = threading.Lock()
_identifier: Any = None


def _get_identifier() -> Any:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]  # no type hints

                ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                ident.set_languages(list(LANGUAGES))
                _identifier = ident
    return _identifier


def detect_language(text: str) -> str | None:
    """ISO 639-1 code among :data:`LANGUAGES`, or ``None`` if the text has too few letters or the
    best language has probability below 0.5 (URLs, @handles and #hashtags are ignored)."""
    cleaned = _STRIP_RE.sub(" ", text or "")
    if len(_LETTER_RE.findall(cleaned)) < _MIN_LETTERS:
        return None
    lang, confidence = _get_identifier().classify(cleaned)
    if confidence < _MIN_CONFIDENCE:
        return None
    return str(lang)


def detect_languages(texts: Iterable[str]) -> list[str | None]:
    """:func:`detect_language` for each text."""
    return [detect_language(t) for t in texts]
