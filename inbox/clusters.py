"""Near-duplicate keys for mentions: copies, reposts and lightly edited versions of one text share a
key, so crisis detection can count a story once per cluster. Pure functions."""
from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["cluster_key", "shingles", "jaccard"]

_URL = re.compile(r"https?://\S+|www\.\S+|\{link\}")
_HANDLE = re.compile(r"(?<!\w)@[\w.]+")
_RT = re.compile(r"^\s*(rt|via)\b[:\s]*", re.IGNORECASE)
_NONWORD = re.compile(r"[^\w\s]+")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = _RT.sub("", t)
    t = _URL.sub(" ", t)
    t = _HANDLE.sub(" ", t)
    t = _DIGITS.sub("0", t)
    t = _NONWORD.sub(" ", t)
    return _SPACE.sub(" ", t).strip()


def cluster_key(text: str, words: int = 12) -> str | None:
    """A key shared by copies of the same text: the hash of its first ``words`` normalised words
    (handles, links, RT prefixes, punctuation and numbers ignored). None for very short texts."""
    toks = _norm(text).split()
    if len(toks) < 5:
        return None
    return hashlib.blake2b(" ".join(toks[:words]).encode(), digest_size=8).hexdigest()


def shingles(text: str, k: int = 3) -> set[str]:
    toks = _norm(text).split()
    return {" ".join(toks[i:i + k]) for i in range(max(1, len(toks) - k + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0
