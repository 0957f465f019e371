"""Okapi BM25 over a mention's words, as SQLite FTS5's ``bm25()`` computes it (pure).

FTS5's own ``bm25()`` counts, for every query, how many rows hold each phrase by walking that
phrase's whole doclist: a word in a fifth of a million mentions costs tens of milliseconds before
the first row is scored, however few rows match the query. The search scores its few matching rows
here instead, with the collection's figures (row count, mean row length, each phrase's row count)
read once and kept for a while by the storage layer (``inbox.storage.repo.fts_stats``).

Words are cut as FTS5's ``unicode61`` tokenizer with ``remove_diacritics 2`` cuts them: runs of
letters and digits, lower-cased, accents removed. The score follows FTS5's: for each phrase,
``idf · f·(k1 + 1) / (f + k1·(1 − b + b·|D| / avgdl))`` where ``f`` sums the phrase's occurrences
weighted by column, ``|D|`` is the row's word count over all columns, and ``idf`` is
``ln((N − n + 0.5) / (n + 0.5))``, at least 1e-6; the result is negated, so a lower score ranks first.
"""
from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from inbox.domain.search_query import WORD

__all__ = ["Phrase", "words", "occurrences", "idf", "score", "K1", "B"]

K1, B = 1.2, 0.75


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[str, ...]   # folded as ``words`` folds them
    prefix: bool = False     # the last word is a prefix


def _fold(text: str) -> str:
    text = text.lower()
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def words(text: str | None) -> list[str]:
    """The words of ``text`` as the index holds them."""
    return WORD.findall(_fold(text)) if text else []


def occurrences(tokens: list[str], phrase: Phrase) -> int:
    """How many times ``phrase`` occurs in ``tokens`` (its words in order, next to each other)."""
    ws, n = phrase.words, len(phrase.words)
    if n == 1 and not phrase.prefix:
        return tokens.count(ws[0])
    last = ws[-1]
    found = 0
    for i in range(len(tokens) - n + 1):
        end = tokens[i + n - 1]
        if (end.startswith(last) if phrase.prefix else end == last) and all(
                tokens[i + k] == ws[k] for k in range(n - 1)):
            found += 1
    return found


def idf(rows: int, rows_with_phrase: int) -> float:
    """FTS5's inverse document frequency: never below 1e-6, so a very common phrase still counts."""
    value = math.log((rows - rows_with_phrase + 0.5) / (rows_with_phrase + 0.5)) if rows > 0 else 0.0
    return value if value > 0 else 1e-6


def score(columns: Sequence[list[str]], weights: Sequence[float], phrases: Sequence[Phrase],
          idfs: Sequence[float], mean_length: float) -> float:
    """The negated BM25 score of one row: ``columns`` holds each column's words, ``weights`` each
    column's weight, ``idfs`` each phrase's idf; ``mean_length`` is the collection's mean row length."""
    length = sum(len(col) for col in columns)
    norm = K1 * (1 - B + B * length / mean_length) if mean_length > 0 else K1
    total = 0.0
    for phrase, w_idf in zip(phrases, idfs, strict=True):
        f = 0.0
        for col, w in zip(columns, weights, strict=True):
            if col:
                f += w * occurrences(col, phrase)
        total += w_idf * (f * (K1 + 1)) / (f + norm)
    return -total
