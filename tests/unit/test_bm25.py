"""inbox.domain.bm25 scores a row as SQLite FTS5's bm25() does, and inbox.storage.repo.fts_stats
keeps the collection's figures for a while: checked against FTS5 itself on a table made as
migration 0015 makes ``mention_fts`` (unicode61, remove_diacritics 2; text weighed 1, author 0.5)."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text

from inbox.domain import bm25
from inbox.domain.search_query import fts5_match, parse
from inbox.storage.repo import fts_stats

ROWS = [
    ("Where is my refund for order 5531? The app is broken", "marco"),
    ("refund refund refund: still no refund for my order", "refund_bot"),
    ("Il mio ordine non è arrivato, perché? Rimborso per favore", "giulia"),
    ("PERCHÉ l'ordine è ARRIVATO rotto", "perche"),
    ("the order was not what I ordered, order again?", "ann"),
    ("Déjà vu: ordering from you is a refund lottery", None),
    ("nothing to see here", "orderly"),
    ("", "empty"),
    ("order order order order order order order order order order refund", "spam"),
    ("Straße and café: naïve résumé", "zoë"),
]
QUERIES = ["refund", "order", "order refund", '"order was not"', "ord*", "perche", "arrivato rimborso",
           "cafe", "zoe", '"refund for"', "refu* order", "strasse", "ordine perché"]


@pytest.fixture()
def fts() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(text, author_handle, tokenize='unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO t(rowid, text, author_handle) VALUES (?, ?, ?)",
                   [(i + 1, body, author) for i, (body, author) in enumerate(ROWS)])
    return db


@pytest.mark.parametrize("q", QUERIES)
def test_scores_equal_fts5_bm25(fts: sqlite3.Connection, q: str) -> None:
    terms = parse(q)
    expected = dict(fts.execute("SELECT rowid, bm25(t, 1.0, 0.5) FROM t WHERE t MATCH ?", (fts5_match(terms),)))
    rows = len(ROWS)
    mean = sum(len(bm25.words(b)) + len(bm25.words(a)) for b, a in ROWS) / rows
    phrases = [bm25.Phrase(tuple(bm25.words(" ".join(t.words))), t.prefix) for t in terms]
    idfs = [bm25.idf(rows, fts.execute("SELECT count(*) FROM t WHERE t MATCH ?", (fts5_match([t]),)).fetchone()[0])
            for t in terms]
    got = {}
    for i, (body, author) in enumerate(ROWS):
        cols = (bm25.words(body), bm25.words(author))
        if all(any(bm25.occurrences(c, p) for c in cols) for p in phrases):
            got[i + 1] = bm25.score(cols, (1.0, 0.5), phrases, idfs, mean)
    assert set(got) == set(expected)  # the same words cut the same way: the same rows match
    for rowid, value in expected.items():
        assert got[rowid] == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_words_fold_case_and_accents_and_cut_at_punctuation() -> None:
    assert bm25.words("PERCHÉ l'ordine è_rotto? café-5531") == ["perche", "l", "ordine", "e", "rotto", "cafe", "5531"]
    assert bm25.words(None) == [] and bm25.words("") == []


def test_occurrences_of_words_phrases_and_prefixes() -> None:
    toks = bm25.words("the order was not what I ordered, order was late")
    assert bm25.occurrences(toks, bm25.Phrase(("order",))) == 2
    assert bm25.occurrences(toks, bm25.Phrase(("order", "was"))) == 2
    assert bm25.occurrences(toks, bm25.Phrase(("was", "not"))) == 1
    assert bm25.occurrences(toks, bm25.Phrase(("ord",), prefix=True)) == 3
    assert bm25.occurrences(toks, bm25.Phrase(("i", "ord"), prefix=True)) == 1
    assert bm25.occurrences(toks, bm25.Phrase(("ord",))) == 0


def test_idf_never_falls_to_zero() -> None:
    assert bm25.idf(10, 9) == 1e-6
    assert bm25.idf(10, 1) > bm25.idf(10, 3) > 0


def test_collection_figures_are_kept_until_they_are_old(tmp_path: object) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/s.db")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE mention (id INTEGER PRIMARY KEY, text TEXT, author_handle TEXT)"))
        c.execute(text("CREATE VIRTUAL TABLE mention_fts USING fts5(text, author_handle, content='mention', "
                       "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"))

    def add(i: int, body: str) -> None:
        with engine.begin() as c:
            c.execute(text("INSERT INTO mention VALUES (:i, :b, 'a')"), {"i": i, "b": body})
            c.execute(text("INSERT INTO mention_fts(rowid, text, author_handle) VALUES (:i, :b, 'a')"),
                      {"i": i, "b": body})

    add(1, "refund please")
    now = [100.0]
    with engine.connect() as c:
        first = fts_stats.collection(c, clock=lambda: now[0])
        assert (first.rows, first.mean_length) == (1, 3.0)
        assert fts_stats.phrase_rows(c, '"refund"', clock=lambda: now[0]) == 1
    add(2, "refund refund now or never")
    now[0] += fts_stats.TTL_SECONDS - 1
    with engine.connect() as c:  # still young: the figures kept
        assert fts_stats.collection(c, clock=lambda: now[0]) == first
        assert fts_stats.phrase_rows(c, '"refund"', clock=lambda: now[0]) == 1
    now[0] += 1
    with engine.connect() as c:  # old: read again
        again = fts_stats.collection(c, clock=lambda: now[0])
        assert (again.rows, again.mean_length) == (2, 4.5)
        assert fts_stats.phrase_rows(c, '"refund"', clock=lambda: now[0]) == 2
    engine.dispose()
