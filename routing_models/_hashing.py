"""Vectorised, deterministic n-gram hashing (word and character n-grams) with numpy.

scikit-learn's ``HashingVectorizer`` builds the n-grams of every document in a
Python loop, which costs 50–100 µs per mention for character n-grams – too slow
for the 20,000 mentions/s target.  Here the whole batch is turned into one array
of code points and every n-gram hash is computed at once with a polynomial
prefix hash in wrapping ``uint64`` arithmetic:

    S[k] = sum_{j<k} c[j] * P^-j            (cumulative sum, mod 2^64)
    hash(c[a:b]) = P^(b-1) * (S[b] - S[a])   = sum_{j=a}^{b-1} c[j] * P^(b-1-j)

P is odd, so it has an inverse modulo 2^64 and the formula is exact.  The hash of
an n-gram does not depend on its position or on the batch, so the features are
identical for a document scored alone or in a batch (a test checks this).
Hashes are finalised with the splitmix64 mixer and reduced to a power-of-two
number of columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]  # scipy ships no type hints

__all__ = ["NgramSpans", "char_ngrams", "word_ngrams", "to_csr", "runs_to_csr"]

_MASK64 = (1 << 64) - 1
_P = 0x100000001B3  # FNV-64 prime (odd)
_P_INV = pow(_P, -1, 1 << 64)
_SEP = 0  # code point separating documents in the joined batch
_BIGRAM_Q = np.uint64(0x9E3779B97F4A7C15)
_WORD_SALT = np.uint64(0xD6E8FEB86659FD93)
_BIGRAM_SALT = np.uint64(0xA0761D6478BD642F)
_CHAR_SALT = np.uint64(0xE7037ED1A0B428DB)

# ASCII code points that belong to words: letters and digits.  Everything >= 128
# (letters of other scripts that survived normalisation) also counts as a word character.
_ASCII_WORD = np.zeros(128, dtype=bool)
for _c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
    _ASCII_WORD[ord(_c)] = True

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class NgramSpans:
    """Hashed n-gram occurrences of a batch.

    ``doc``/``col`` (int32) list one entry per occurrence; ``bounds`` splits them into runs
    (one per n-gram length / kind) inside which ``doc`` is non-decreasing.  ``start``/``end``
    (positions in ``joined``) are only filled when spans were requested (for explanations).
    ``key`` (uint64, word n-grams only, when requested) is the full 64-bit hash that ``col`` is
    reduced from (``col == key & (n_features - 1)``): two different n-grams practically never
    share a key, while they share a column about once in ``n_features``.
    """

    doc: npt.NDArray[np.int32]
    col: npt.NDArray[np.int32]
    bounds: tuple[int, ...]
    joined: str
    start: npt.NDArray[np.int64] | None = None
    end: npt.NDArray[np.int64] | None = None
    key: U64 | None = None

    def runs(self) -> list[slice]:
        edges = (0, *self.bounds)
        return [slice(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


_MIX_M1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: U64) -> U64:
    """splitmix64 finaliser (wrapping uint64 arithmetic), computed IN PLACE in ``x`` (callers pass
    an array of their own) with one scratch array: no new array per step."""
    t = np.empty_like(x)
    with np.errstate(over="ignore"):
        np.right_shift(x, np.uint64(30), out=t)
        x ^= t
        x *= _MIX_M1
        np.right_shift(x, np.uint64(27), out=t)
        x ^= t
        x *= _MIX_M2
        np.right_shift(x, np.uint64(31), out=t)
        x ^= t
    return x


def _powers(base: int, n: int) -> U64:
    arr = np.full(n, base, dtype=np.uint64)
    arr[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(arr, dtype=np.uint64)


_POW_CACHE: dict[int, tuple[U64, U64]] = {}


def _pow_tables(n: int) -> tuple[U64, U64]:
    size = 1 << max(16, (n - 1).bit_length())
    cached = _POW_CACHE.get(size)
    if cached is None:
        cached = (_powers(_P, size), _powers(_P_INV, size))
        _POW_CACHE.clear()
        _POW_CACHE[size] = cached
    return cached


def _join(docs: list[str], pad: str) -> tuple[str, npt.NDArray[np.uint32], npt.NDArray[np.int32]]:
    """Join documents with a NUL separator; return the string, its code points and doc id per position."""
    cleaned = [d.replace("\x00", " ") if "\x00" in d else d for d in docs]
    joined = "\x00".join(pad + d + pad for d in cleaned) if pad else "\x00".join(cleaned)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    doc_id = np.cumsum(cps == _SEP, dtype=np.int32)
    return joined, cps, doc_id


def _prefix(cps: npt.NDArray[np.uint32]) -> tuple[U64, U64]:
    """Return (S, P^k) with S[k] = sum_{j<k} c[j] * P^-j, both of length len(cps)+1."""
    n = cps.shape[0] + 1
    pow_p, pow_inv = _pow_tables(n)
    s = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        np.cumsum(cps.astype(np.uint64) * pow_inv[: n - 1], out=s[1:])
    return s, pow_p[:n]


def _substring_hash(s: U64, pow_p: U64, a: I64, b: I64) -> U64:
    with np.errstate(over="ignore"):
        return pow_p[b - 1] * (s[b] - s[a])


def char_ngrams(
    docs: list[str], ngram_range: tuple[int, int], n_features: int, *, with_spans: bool = False
) -> NgramSpans:
    """Hash all character n-grams (documents padded with one space each side); one run per length."""
    lo, hi = ngram_range
    joined, cps, doc_id = _join(docs, " ")
    length = cps.shape[0]
    s, pow_p = _prefix(cps)
    sep_cum = np.zeros(length + 1, dtype=np.int32)  # separators before each position: doc_id shifted
    sep_cum[1:] = doc_id
    mask = np.uint64(n_features - 1)
    docs_out, cols_out, starts_out, ends_out = [], [], [], []
    for n in range(lo, hi + 1):
        m = length - n + 1
        if m <= 0:
            continue
        # n-gram starting at a ends at a + n: slices instead of gathers
        valid = sep_cum[n : n + m] == sep_cum[:m]
        with np.errstate(over="ignore"):
            h = np.subtract(s[n : n + m], s[:m])
            h *= pow_p[n - 1 : n - 1 + m]
            h = h[valid]
            h += _CHAR_SALT * np.uint64(n)
        cols_out.append((_mix(h) & mask).astype(np.int32))
        docs_out.append(doc_id[:m][valid])
        if with_spans:
            a = np.flatnonzero(valid)
            starts_out.append(a)
            ends_out.append(a + n)
    return _spans(docs_out, cols_out, starts_out, ends_out, joined, with_spans)


def word_ngrams(
    docs: list[str], ngram_range: tuple[int, int], n_features: int, *, with_spans: bool = False,
    with_keys: bool = False,
) -> NgramSpans:
    """Hash word unigrams and/or bigrams (words = maximal runs of letters/digits); one run per kind.
    ``with_keys`` also returns each n-gram's full 64-bit hash (``NgramSpans.key``)."""
    lo, hi = ngram_range
    if lo < 1 or hi > 2:
        raise ValueError("word_ngrams supports ngram_range within (1, 2)")
    joined, cps, doc_id = _join(docs, "")
    mask = np.uint64(n_features - 1)
    if cps.shape[0] == 0:
        return _spans([], [], [], [], joined, with_spans, [] if with_keys else None)
    is_word = np.where(cps < 128, _ASCII_WORD[np.minimum(cps, 127)], True)
    is_word &= cps != _SEP
    padded = np.concatenate(([False], is_word, [False]))
    diff = np.diff(padded.astype(np.int8))
    starts = np.flatnonzero(diff == 1)
    ends = np.flatnonzero(diff == -1)
    s, pow_p = _prefix(cps)
    tok_hash = _substring_hash(s, pow_p, starts, ends)
    tok_doc = doc_id[starts]
    docs_out, cols_out, starts_out, ends_out = [], [], [], []
    keys_out: list[U64] = []
    if lo <= 1:
        with np.errstate(over="ignore"):
            key = _mix(tok_hash + _WORD_SALT)
        cols_out.append((key & mask).astype(np.int32))
        keys_out.append(key)
        docs_out.append(tok_doc)
        starts_out.append(starts)
        ends_out.append(ends)
    if hi >= 2 and tok_hash.shape[0] > 1:
        same = tok_doc[:-1] == tok_doc[1:]
        with np.errstate(over="ignore"):
            h2 = _mix(tok_hash[:-1] + _BIGRAM_SALT) * _BIGRAM_Q + tok_hash[1:]
        key = _mix(h2[same])
        cols_out.append((key & mask).astype(np.int32))
        keys_out.append(key)
        docs_out.append(tok_doc[:-1][same])
        starts_out.append(starts[:-1][same])
        ends_out.append(ends[1:][same])
    return _spans(docs_out, cols_out, starts_out, ends_out, joined, with_spans, keys_out if with_keys else None)


def _spans(
    docs: list[npt.NDArray[np.int32]],
    cols: list[npt.NDArray[np.int32]],
    starts: list[npt.NDArray[np.int64]],
    ends: list[npt.NDArray[np.int64]],
    joined: str,
    with_spans: bool,
    keys: list[U64] | None = None,
) -> NgramSpans:
    empty = np.zeros(0, dtype=np.int32)
    bounds = tuple(int(x) for x in np.cumsum([d.shape[0] for d in docs])) if docs else ()
    return NgramSpans(
        doc=np.concatenate(docs) if docs else empty,
        col=np.concatenate(cols) if cols else empty,
        bounds=bounds,
        joined=joined,
        start=(np.concatenate(starts) if starts else empty.astype(np.int64)) if with_spans else None,
        end=(np.concatenate(ends) if ends else empty.astype(np.int64)) if with_spans else None,
        key=(np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)) if keys is not None else None,
    )


def runs_to_csr(
    runs: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]]],
    n_docs: int,
    n_cols: int,
) -> sp.csr_matrix:
    """CSR matrix from (doc, col, value) runs, each sorted by doc, without a global sort.

    A counting sort: per-document totals give ``indptr``; every run then scatters its entries
    behind the entries of the earlier runs of the same document.  Duplicate (doc, col) entries
    are kept (their sum is the value), which matrix products handle correctly.
    """
    counts = [np.bincount(d, minlength=n_docs) for d, _, _ in runs]
    total = np.sum(counts, axis=0) if counts else np.zeros(n_docs, dtype=np.int64)
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(total, out=indptr[1:])
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float32)
    base = indptr[:-1].copy()
    for (d, c, v), cnt in zip(runs, counts, strict=False):
        if d.shape[0] == 0:
            continue
        run_start = np.zeros(n_docs, dtype=np.int64)
        np.cumsum(cnt[:-1], out=run_start[1:])
        dest = base[d] + (np.arange(d.shape[0], dtype=np.int64) - run_start[d])
        indices[dest] = c
        data[dest] = v
        base += cnt
    return sp.csr_matrix((data, indices, indptr.astype(np.int32)), shape=(n_docs, n_cols))


def to_csr(spans: NgramSpans, n_docs: int, n_features: int) -> sp.csr_matrix:
    """Count matrix (float64) of the hashed n-grams, duplicates summed, indices sorted."""
    runs = [(spans.doc[r], spans.col[r], np.ones(r.stop - r.start, dtype=np.float32)) for r in spans.runs()]
    mat = runs_to_csr(runs, n_docs, n_features).astype(np.float64)
    mat.sum_duplicates()
    return mat
