"""Near-duplicate keys for mentions: copies, reposts and lightly edited versions of one text share a
key, so crisis detection can count a story once per cluster. Pure functions."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

__all__ = ["cluster_key", "copy_key", "keys", "same_post", "shingles", "jaccard", "minhash_signatures",
           "near_duplicate_groups"]

_URL = re.compile(r"https?://\S+|www\.\S+|\{link\}")
_HANDLE = re.compile(r"(?<!\w)@[\w.]+")
_RT = re.compile(r"^\s*(rt|via)\b[:\s]*", re.IGNORECASE)
_NONWORD = re.compile(r"[^\w\s]+")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def _ascii_nonword_table() -> bytes:
    """256-byte table: the ASCII characters ``_NONWORD`` matches become spaces, the rest stay."""
    table = bytearray(range(256))
    for b in range(128):
        if _NONWORD.fullmatch(chr(b)):
            table[b] = ord(" ")
    return bytes(table)


_ASCII_NONWORD = _ascii_nonword_table()
_ASCII_DIGITS = b"0123456789"


def _tokens(text: str, digits: bool = False) -> list[str]:
    """The words of :func:`_norm`."""
    t = text.lower() if text.isascii() else _COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower()
    # each rule runs only when a substring test says it can match (the ingest path calls this per mention)
    if "rt" in t or "via" in t:
        t = _RT.sub("", t)
    if "://" in t or "www." in t or "{link}" in t:
        t = _URL.sub(" ", t)
    if "@" in t:
        t = _HANDLE.sub(" ", t)
    if not digits:
        t = _DIGITS.sub("0", t)
    if t.isascii():
        # one byte translation instead of the regex: each punctuation character becomes a space
        # rather than each run of them, which the split below makes the same
        return t.encode("ascii").translate(_ASCII_NONWORD).decode("ascii").split()
    return _NONWORD.sub(" ", t).split()


def _norm(text: str, digits: bool = False) -> str:
    return " ".join(_tokens(text, digits))


def _fold_digits(text: str) -> str:
    """``_DIGITS.sub("0", text)``; an ASCII text without digits (a C-level byte deletion says so)
    is returned as it is."""
    if text.isascii():
        raw = text.encode("ascii")
        if len(raw.translate(None, _ASCII_DIGITS)) == len(raw):
            return text
    return _DIGITS.sub("0", text)


def cluster_key(text: str, words: int = 12) -> str | None:
    """A key shared by copies of the same text: the hash of its first ``words`` normalised words
    (handles, links, RT prefixes, punctuation and numbers ignored). None for very short texts."""
    toks = _norm(text).split()
    if len(toks) < 5:
        return None
    return hashlib.blake2b(" ".join(toks[:words]).encode(), digest_size=8).hexdigest()


def copy_key(text: str) -> str | None:
    """A key shared only by copies of one post (what :func:`same_post` compares, hashed): the
    normalised words *with their numbers*. None for very short texts, as for the cluster key."""
    norm = _norm(text, digits=True)
    if len(norm.split()) < 5:
        return None
    return hashlib.blake2b(norm.encode(), digest_size=8).hexdigest()


def keys(text: str, words: int = 12) -> tuple[str | None, str | None]:
    """(cluster_key, copy_key) of ``text`` from one normalisation (what ingest stores per mention):
    numbers fold to 0 after the rest of the normalisation, so the cluster key is the same."""
    toks = _tokens(text, digits=True)
    if len(toks) < 5:
        return None, None
    norm = " ".join(toks)
    folded = _fold_digits(" ".join(toks[:words]))
    return (hashlib.blake2b(folded.encode(), digest_size=8).hexdigest(),
            hashlib.blake2b(norm.encode(), digest_size=8).hexdigest())


def same_post(a: str, b: str) -> bool:
    """Whether two texts sharing a ``cluster_key`` are copies of one post for the people working
    them: the same words *and numbers* once handles, links, RT prefixes and punctuation are set
    aside. The cluster key folds numbers so that a story counts once for crisis detection, which
    also makes "my order 123 is broken" and "my order 456 is broken" one cluster; those are two
    customers, and resolving one must not resolve the other."""
    return _norm(a, digits=True) == _norm(b, digits=True)


def shingles(text: str, k: int = 3) -> set[str]:
    toks = _norm(text).split()
    return {" ".join(toks[i:i + k]) for i in range(max(1, len(toks) - k + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


_NUM_PERM = 64
_BANDS = 16  # 16 bands of 4 rows: pairs above Jaccard ~0.5 become candidates with high probability
_rng = np.random.default_rng(0x5EED)
_A = (_rng.integers(1, 2**63 - 1, _NUM_PERM, dtype=np.uint64) | np.uint64(1))
_B = _rng.integers(0, 2**63 - 1, _NUM_PERM, dtype=np.uint64)


def _shingle_hashes(sh: set[str]) -> np.ndarray:
    return np.fromiter((int.from_bytes(hashlib.blake2b(x.encode(), digest_size=8).digest(), "little")
                        for x in sh), dtype=np.uint64, count=len(sh))


def minhash_signatures(sets: Sequence[set[str]]) -> np.ndarray:
    """One row of 64 min-hashes per shingle set (multiply-shift hashing, a fixed seed)."""
    out = np.full((len(sets), _NUM_PERM), np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, sh in enumerate(sets):
            if sh:
                h = _shingle_hashes(sh)
                out[i] = ((_A[:, None] * h[None, :] + _B[:, None]) >> np.uint64(16)).min(axis=1)
    return out


def near_duplicate_groups(texts: Sequence[str], threshold: float = 0.5, *,
                          keys: Sequence[str | None] | None = None) -> list[list[int]]:
    """Indexes of ``texts`` grouped by near-duplication: MinHash LSH proposes pairs, the exact
    Jaccard of their word 3-shingles (>= ``threshold``) confirms them, union-find joins them.
    Texts sharing a non-null entry of ``keys`` (cluster_key) are joined too. Every text appears in
    exactly one group; groups are returned largest first. Pure."""
    n = len(texts)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    sets = [shingles(t) for t in texts]
    sigs = minhash_signatures(sets)
    rows = _NUM_PERM // _BANDS
    for b in range(_BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        band = sigs[:, b * rows:(b + 1) * rows]
        for i in range(n):
            if sets[i] and sets[i] != {""}:
                buckets[band[i].tobytes()].append(i)
        for members in buckets.values():
            reps: list[int] = []  # one text per group met in this bucket (at most 8 compared)
            for j in members:
                rj = find(j)
                if any(find(r) == rj for r in reps):
                    continue
                for r in reps[:8]:
                    if jaccard(sets[r], sets[j]) >= threshold:
                        union(r, j)
                        break
                else:
                    reps.append(j)
    if keys is not None:
        first_of: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k:
                if k in first_of:
                    union(first_of[k], i)
                else:
                    first_of[k] = i
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))
