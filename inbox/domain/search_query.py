"""A search box's text as terms the database indexes understand (pure).

Syntax: words (all must match), ``"a phrase"`` (the words next to each other, in order), ``word*``
(a prefix). Words are cut where the index cuts them (letters and digits; punctuation and
apostrophes separate), so ``l'ordine`` is the phrase ``l ordine``. Case and accents are folded by
the index itself (SQLite's unicode61 tokenizer, PostgreSQL's unaccent dictionary), so the words
stay as typed here. The result is built only from word characters, so a query can never inject
operators into FTS5's or tsquery's own syntax.

Also the keyset cursor: the (score, id) of the last row of a page and whether the pages run newest
first (a query matching too many mentions to rank), as an opaque url-safe string.
"""
from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass

__all__ = ["Term", "WORD", "parse", "fts5_match", "tsquery", "encode_cursor", "decode_cursor", "snippet_html",
           "MAX_TERMS"]

MAX_TERMS = 16
#: a word as the indexes cut it (letters and digits; inbox.domain.bm25 cuts mention text alike)
WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass(frozen=True, slots=True)
class Term:
    words: tuple[str, ...]   # one word, or a phrase
    prefix: bool = False     # the last word is a prefix


def parse(q: str) -> list[Term]:
    """The terms of ``q`` (at most MAX_TERMS); empty when it holds no word."""
    out: list[Term] = []
    for m in _TOKEN.finditer(q or ""):
        phrase, bare = m.group(1), m.group(2)
        raw = phrase if phrase is not None else bare
        words = tuple(w.lower() for w in WORD.findall(raw))
        if not words:
            continue
        prefix = phrase is None and raw.rstrip().endswith("*") and len(words[-1]) >= 2
        out.append(Term(words, prefix))
        if len(out) >= MAX_TERMS:
            break
    return out


def fts5_match(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: each term a quoted string (a phrase), ``*`` for a prefix."""
    return " AND ".join('"' + " ".join(t.words) + '"' + ("*" if t.prefix else "") for t in terms)


def tsquery(terms: list[Term]) -> str:
    """A tsquery text for ``to_tsquery``: phrases with ``<->``, prefixes with ``:*``, all ANDed."""
    parts = []
    for t in terms:
        ws = [f"'{w}'" for w in t.words]
        if t.prefix:
            ws[-1] += ":*"
        parts.append("(" + " <-> ".join(ws) + ")")
    return " & ".join(parts)


def encode_cursor(score: float, item_id: int, newest: bool = False) -> str:
    raw = json.dumps([score, item_id, 1] if newest else [score, item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int, bool]:
    """(score, id, newest first) from :func:`encode_cursor`; ValueError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        score, item_id, *rest = json.loads(raw)
    except (ValueError, TypeError) as e:
        raise ValueError("not a search cursor") from e
    if not isinstance(score, int | float) or isinstance(score, bool) or not isinstance(item_id, int) \
            or isinstance(item_id, bool) or rest not in ([], [1]):
        raise ValueError("not a search cursor")
    return float(score), item_id, rest == [1]


def snippet_html(snippet: str, start: str, end: str) -> str:
    """``snippet`` HTML-escaped, the words between ``start`` and ``end`` in ``<mark>``; markers
    that do not pair up (the text itself held one) are dropped."""
    out: list[str] = []
    open_ = False
    for piece in re.split(f"({re.escape(start)}|{re.escape(end)})", snippet):
        if piece == start:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif piece == end:
            if open_:
                out.append("</mark>")
                open_ = False
        else:
            out.append(html.escape(piece, quote=True))
    if open_:
        out.append("</mark>")
    return "".join(out)
