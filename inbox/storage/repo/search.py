"""Full-text search over items: SQLite FTS5 (``mention_fts``) or PostgreSQL's ``mention.search_vector``
(both made by migration 0015 and written with the mention), joined to the items the caller may
see, ranked, one keyset page at a time, with highlighted snippets for the page's rows.

Ranking scores every match (on SQLite BM25 over each matching row's words with the collection's
kept figures, ``inbox.domain.bm25``; on PostgreSQL ``ts_rank_cd`` per matching row), so its cost
grows with the match count: a common word matching a fifth of a million mentions took most
of a second on either engine. A query matching more than ``RANK_AT_MOST`` mentions (found by
counting at most that many plus one, which stops early) is therefore answered newest first
instead: both engines walk their index in id order and stop at the page's end, whatever the
number of matches, and a page looks at no more than ``WALK_AT_MOST`` of them (a short page then
carries the cursor of the rest). The mode travels in the cursor, so a query's pages keep one order."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, column, func, literal, literal_column, or_, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain import bm25
from inbox.domain.search_query import Term, fts5_match, tsquery
from inbox.domain.types import ItemSummary
from inbox.storage.repo import fts_stats
from inbox.storage.repo._common import T_ITEM, T_MENTION, T_USER, is_pg
from inbox.storage.repo.items import summaries_by_id_sync, visible_clause

__all__ = ["SearchFilters", "Hit", "Found", "search", "find_page", "find_page_sync", "search_ids", "snippets", "ranks",
           "HL_START",
           "HL_END", "RANK_AT_MOST", "WALK_AT_MOST"]

# around a matched word in a snippet; the web layer escapes the snippet, then turns these into <mark>
HL_START, HL_END = "\ue000", "\ue001"
_CONFIG: Any = literal_column("'inbox_search'::regconfig")
_VECTOR: Any = literal_column("mention.search_vector")
_FTS: Any = table("mention_fts", column("rowid", Integer))
#: more matching mentions than this are not ranked: the pages run newest first
RANK_AT_MOST = 2000
#: a newest-first page looks at no more than this many matching mentions, those the filters or
#: the caller's visibility drop included (a common word all of whose matches are another team's
#: would otherwise walk every one); a page that stops there says where the next one starts
WALK_AT_MOST = 10_000
_WEIGHTS = (1.0, 0.5)  # text, author: the weights the SQLite ranking gives each column


@dataclass(frozen=True, slots=True)
class SearchFilters:
    teams: Sequence[str] | None = None        # what the caller may see (None: everything)
    team: str | None = None
    statuses: Sequence[str] | None = None
    lang: str | None = None
    source: str | None = None
    assignee: str | None = None               # a user name, or "none" for unassigned
    priority: int | None = None
    label: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    item: ItemSummary
    score: float                              # 0 when the pages run newest first
    snippet: str | None
    newest: bool = False                      # the pages run newest first (too many matches to rank)


def _ts_query(terms: list[Term]) -> Any:
    return func.to_tsquery(_CONFIG, bindparam("q_ts", tsquery(terms)))


def _fts_match(terms: list[Term]) -> Any:
    return text("mention_fts MATCH :q_fts").bindparams(q_fts=fts5_match(terms))


async def ranks(terms: list[Term], *, conn: AsyncConnection, at_most: int = RANK_AT_MOST) -> bool:
    """Whether the matches of ``terms`` are few enough to rank (at most ``at_most`` mentions):
    counts no further than one past that bound."""
    return await conn.run_sync(ranks_sync, terms, at_most=at_most)


def ranks_sync(conn: Connection, terms: list[Term], *, at_most: int = RANK_AT_MOST) -> bool:
    if not terms:
        return False
    if is_pg(conn):
        first: Any = select(literal(1)).select_from(T_MENTION).where(_VECTOR.op("@@")(_ts_query(terms)))
    else:
        first = select(literal(1)).select_from(_FTS).where(_fts_match(terms))
    n = conn.execute(select(func.count()).select_from(first.limit(at_most + 1).subquery())).scalar_one()
    return int(n) <= at_most


def _newest(terms: list[Term], pg: bool) -> tuple[Any, Any]:
    """A select of the matching item ids (no rank) and the id column to order it by, newest first."""
    if not terms:
        return (select(T_ITEM.c.id).select_from(T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)), T_ITEM.c.id)
    if pg:
        return (select(T_MENTION.c.id).select_from(T_MENTION.join(T_ITEM, T_ITEM.c.id == T_MENTION.c.id))
                .where(_VECTOR.op("@@")(_ts_query(terms))), T_MENTION.c.id)
    return (select(_FTS.c.rowid).select_from(_FTS.join(T_ITEM, T_ITEM.c.id == _FTS.c.rowid)
                                              .join(T_MENTION, T_MENTION.c.id == _FTS.c.rowid))
            .where(_fts_match(terms)), _FTS.c.rowid)


def _pg_walked(terms: list[Term], *, below: int | None, walk: int) -> tuple[Any, Any]:
    """PostgreSQL's :func:`_newest` among the ``walk`` newest matches below ``below``: a subquery
    that reads the matches newest first (off the primary key for a common word) and stops at the
    walk's end, joined to the items as its rows come, so a page stops at its last hit. Finding the
    walk's end first (:func:`_floor`) read the whole walk for every page: 50,000 rows for a word in
    a fifth of a million mentions."""
    matches = select(T_MENTION.c.id.label("mid")).where(_VECTOR.op("@@")(_ts_query(terms)))
    if below is not None:
        matches = matches.where(T_MENTION.c.id < below)
    walked = matches.order_by(T_MENTION.c.id.desc()).limit(walk).subquery("walked")
    return (select(walked.c.mid).select_from(walked.join(T_ITEM, T_ITEM.c.id == walked.c.mid)
                                             .join(T_MENTION, T_MENTION.c.id == walked.c.mid)), walked.c.mid)


def _pg_hits(terms: list[Term]) -> Any:
    """(mid, score) of the matching mentions; a lower score ranks first."""
    q = _ts_query(terms)
    return (select(T_MENTION.c.id.label("mid"), (-func.ts_rank_cd(_VECTOR, q)).label("score"))
            .where(_VECTOR.op("@@")(q)).subquery("hits"))


def _sqlite_ranked(conn: Connection, terms: list[Term], filters: SearchFilters) -> list[tuple[int, float]]:
    """(id, score) of every matching item the filters admit, best first: BM25 over the text (weight
    1) and the author (0.5), scored here on the collection's kept figures (``fts_stats``) rather than
    by FTS5's ``bm25()``, which counts each phrase's mentions again on every query."""
    q = (select(T_MENTION.c.id, T_MENTION.c.text, T_MENTION.c.author_handle)
         .select_from(_FTS.join(T_ITEM, T_ITEM.c.id == _FTS.c.rowid).join(T_MENTION, T_MENTION.c.id == _FTS.c.rowid))
         .where(_fts_match(terms), *_where(filters)))
    rows = conn.execute(q).all()
    if not rows:
        return []
    phrases = [bm25.Phrase(tuple(bm25.words(" ".join(t.words))), t.prefix) for t in terms]
    held = fts_stats.collection(conn)
    idfs = [bm25.idf(held.rows, fts_stats.phrase_rows(conn, fts5_match([t]))) for t in terms]
    scored = [(bm25.score((bm25.words(body), bm25.words(author)), _WEIGHTS, phrases, idfs, held.mean_length), int(mid))
              for mid, body, author in rows]
    scored.sort()
    return [(mid, s) for s, mid in scored]


def _where(f: SearchFilters) -> list[Any]:
    cond: list[Any] = []
    if f.teams is not None:
        cond.append(visible_clause(f.teams))
    if f.team is not None:
        cond.append(T_ITEM.c.team == f.team)
    if f.statuses:
        cond.append(T_ITEM.c.status.in_(list(f.statuses)))
    if f.lang is not None:
        cond.append(T_MENTION.c.lang == f.lang)
    if f.source is not None:
        cond.append(T_MENTION.c.source == f.source)
    if f.assignee == "none":
        cond.append(T_ITEM.c.assignee_id.is_(None))
    elif f.assignee is not None:
        cond.append(T_ITEM.c.assignee_id.in_(select(T_USER.c.id).where(T_USER.c.name == f.assignee)))
    if f.priority is not None:
        cond.append(T_ITEM.c.priority == f.priority)
    if f.label is not None:
        cond.append(T_ITEM.c.label == f.label)
    if f.since is not None:
        cond.append(T_ITEM.c.created_at >= f.since)
    if f.until is not None:
        cond.append(T_ITEM.c.created_at < f.until)
    return cond


def _floor(terms: list[Term], *, conn: Connection, below: int | None, walk: int) -> int | None:
    """The id of the ``walk``-th newest matching mention below ``below``; None when fewer match."""
    if is_pg(conn):
        q: Any = select(T_MENTION.c.id).where(_VECTOR.op("@@")(_ts_query(terms)))
        col: Any = T_MENTION.c.id
    else:
        q, col = select(_FTS.c.rowid).select_from(_FTS).where(_fts_match(terms)), _FTS.c.rowid
    if below is not None:
        q = q.where(col < below)
    found = conn.execute(q.order_by(col.desc()).offset(walk - 1).limit(1)).scalar()
    return None if found is None else int(found)


def search_ids(terms: list[Term], filters: SearchFilters, *, conn: Connection, limit: int,
               after: tuple[float, int] | None = None, newest: bool = False,
               walk: int | None = None) -> list[tuple[int, float]]:
    """(item id, score) of up to ``limit`` matching items the filters admit, best first (``newest``:
    newest first, score 0, and with ``walk`` among the ``walk`` newest matches only), after the
    keyset position ``after`` (the last row of the previous page)."""
    if newest or not terms:
        pg, below = is_pg(conn), (after[1] if after is not None else None)
        if terms and walk is not None and pg:
            q, key = _pg_walked(terms, below=below, walk=walk)
        else:
            q, key = _newest(terms, pg)
            if below is not None:
                q = q.where(key < below)
            floor = _floor(terms, conn=conn, below=below, walk=walk) if terms and walk is not None else None
            if floor is not None:
                q = q.where(key >= floor)
        q = q.where(*_where(filters)).order_by(key.desc()).limit(limit)
        return [(int(mid), 0.0) for mid, in conn.execute(q)]
    if not is_pg(conn):
        ranked = _sqlite_ranked(conn, terms, filters)
        if after is not None:
            s, i = after
            ranked = [(mid, sc) for mid, sc in ranked if sc > s or (sc == s and mid > i)]
        return ranked[:limit]
    hits = _pg_hits(terms)
    q = (select(hits.c.mid, hits.c.score).select_from(
        hits.join(T_ITEM, T_ITEM.c.id == hits.c.mid).join(T_MENTION, T_MENTION.c.id == hits.c.mid))
        .where(*_where(filters)).order_by(hits.c.score, hits.c.mid).limit(limit))
    if after is not None:
        s, i = after
        q = q.where(or_(hits.c.score > s, and_(hits.c.score == s, hits.c.mid > i)))
    return [(int(mid), float(score)) for mid, score in conn.execute(q)]


async def snippets(terms: list[Term], ids: Sequence[int], *, conn: AsyncConnection) -> dict[int, str]:
    """The matched words of each mention in context, marked with HL_START/HL_END (not escaped)."""
    return await conn.run_sync(snippets_sync, terms, ids)


def snippets_sync(conn: Connection, terms: list[Term], ids: Sequence[int]) -> dict[int, str]:
    if not terms or not ids:
        return {}
    if is_pg(conn):
        q = _ts_query(terms)
        opts = f'StartSel="{HL_START}", StopSel="{HL_END}", MaxWords=30, MinWords=12, MaxFragments=2'
        stmt = select(T_MENTION.c.id, func.ts_headline(_CONFIG, T_MENTION.c.text, q, opts)).where(
            T_MENTION.c.id.in_(list(ids)))
        rows = conn.execute(stmt)
    else:
        rows = conn.execute(
            text("SELECT rowid, snippet(mention_fts, 0, :a, :b, '…', 24) FROM mention_fts "
                 "WHERE mention_fts MATCH :q_fts AND rowid IN (SELECT value FROM json_each(:ids))"),
            {"a": HL_START, "b": HL_END, "q_fts": fts5_match(terms), "ids": "[" + ",".join(map(str, ids)) + "]"})
    return {int(i): s for i, s in rows if s}


@dataclass(frozen=True, slots=True)
class Found:
    hits: list[Hit]
    resume: tuple[float, int, bool] | None  # the next page's position when this one stopped at the walk's end


async def find_page(terms: list[Term], filters: SearchFilters, *, conn: AsyncConnection, limit: int,
                    after: tuple[float, int, bool] | None = None, rank_at_most: int = RANK_AT_MOST,
                    walk_at_most: int = WALK_AT_MOST) -> Found:
    """:func:`find_page_sync` on an async connection."""
    return await conn.run_sync(find_page_sync, terms, filters, limit=limit, after=after, rank_at_most=rank_at_most,
                               walk_at_most=walk_at_most)


def find_page_sync(conn: Connection, terms: list[Term], filters: SearchFilters, *, limit: int,
                   after: tuple[float, int, bool] | None = None, rank_at_most: int = RANK_AT_MOST,
                   walk_at_most: int = WALK_AT_MOST) -> Found:
    """A page of hits with their snippets: in rank order, or newest first when nothing but filters
    was asked or the words match more than ``rank_at_most`` mentions. ``after`` is the previous
    page's last (score, id, newest), which also keeps that page's order. A newest-first page
    looks at ``walk_at_most`` matching mentions at most: when it ends there short of ``limit``
    hits, ``resume`` is where the next page starts."""
    newest = after[2] if after is not None else not ranks_sync(conn, terms, at_most=rank_at_most)
    walk = walk_at_most if newest and terms else None
    found = search_ids(terms, filters, conn=conn, limit=limit, after=after[:2] if after else None,
                       newest=newest, walk=walk)
    ids = [i for i, _ in found]
    items = summaries_by_id_sync(conn, ids)
    snip = snippets_sync(conn, terms, ids)
    hits = [Hit(items[i], s, snip.get(i), newest) for i, s in found if i in items]
    # a short newest-first page stopped at the walk's end (or ran out of matches): the next page
    # starts below the walk's last match
    floor = (_floor(terms, conn=conn, below=after[1] if after else None, walk=walk)
             if walk is not None and len(found) < limit else None)
    return Found(hits, (0.0, floor, True) if floor is not None else None)


async def search(terms: list[Term], filters: SearchFilters, *, conn: AsyncConnection, limit: int,
                 after: tuple[float, int, bool] | None = None, rank_at_most: int = RANK_AT_MOST,
                 walk_at_most: int = WALK_AT_MOST) -> list[Hit]:
    """The hits of :func:`find_page`."""
    return (await find_page(terms, filters, conn=conn, limit=limit, after=after, rank_at_most=rank_at_most,
                            walk_at_most=walk_at_most)).hits
