"""Full-text search over items: SQLite FTS5 (``mention_fts``) or PostgreSQL's ``mention.search_vector``
(both made by migration 0015 and written with the mention), joined to the items the caller may
see, ranked, one keyset page at a time, with highlighted snippets for the page's rows."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, and_, bindparam, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.search_query import Term, fts5_match, tsquery
from inbox.domain.types import ItemSummary
from inbox.storage.repo._common import T_ITEM, T_MENTION, T_USER, is_pg
from inbox.storage.repo.items import summaries_by_id, visible_clause

__all__ = ["SearchFilters", "Hit", "search_ids", "snippets", "HL_START", "HL_END"]

# around a matched word in a snippet; the web layer escapes the snippet, then turns these into <mark>
HL_START, HL_END = "\ue000", "\ue001"
_CONFIG: Any = literal_column("'inbox_search'::regconfig")
_VECTOR: Any = literal_column("mention.search_vector")


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
    score: float
    snippet: str | None


def _hits(terms: list[Term], pg: bool) -> Any:
    """(mid, score) of the matching mentions; a lower score ranks first."""
    if not terms:  # filters only: newest first
        return select(T_ITEM.c.id.label("mid"), (-T_ITEM.c.id).label("score")).subquery("hits")
    if pg:
        q = func.to_tsquery(_CONFIG, bindparam("q_ts", tsquery(terms)))
        return (select(T_MENTION.c.id.label("mid"), (-func.ts_rank_cd(_VECTOR, q)).label("score"))
                .where(_VECTOR.op("@@")(q)).subquery("hits"))
    return (text("SELECT rowid AS mid, bm25(mention_fts, 1.0, 0.5) AS score FROM mention_fts "
                 "WHERE mention_fts MATCH :q_fts")
            .bindparams(q_fts=fts5_match(terms)).columns(mid=Integer, score=Float).subquery("hits"))


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


async def search_ids(terms: list[Term], filters: SearchFilters, *, conn: AsyncConnection, limit: int,
                     after: tuple[float, int] | None = None) -> list[tuple[int, float]]:
    """(item id, score) of up to ``limit`` matching items the filters admit, best first, after the
    keyset position ``after`` (the last row of the previous page)."""
    hits = _hits(terms, is_pg(conn))
    q = (select(hits.c.mid, hits.c.score).select_from(
        hits.join(T_ITEM, T_ITEM.c.id == hits.c.mid).join(T_MENTION, T_MENTION.c.id == hits.c.mid))
        .where(*_where(filters)).order_by(hits.c.score, hits.c.mid).limit(limit))
    if after is not None:
        s, i = after
        q = q.where(or_(hits.c.score > s, and_(hits.c.score == s, hits.c.mid > i)))
    return [(int(mid), float(score)) for mid, score in await conn.execute(q)]


async def snippets(terms: list[Term], ids: Sequence[int], *, conn: AsyncConnection) -> dict[int, str]:
    """The matched words of each mention in context, marked with HL_START/HL_END (not escaped)."""
    if not terms or not ids:
        return {}
    if is_pg(conn):
        q = func.to_tsquery(_CONFIG, bindparam("q_ts", tsquery(terms)))
        opts = f'StartSel="{HL_START}", StopSel="{HL_END}", MaxWords=30, MinWords=12, MaxFragments=2'
        stmt = select(T_MENTION.c.id, func.ts_headline(_CONFIG, T_MENTION.c.text, q, opts)).where(
            T_MENTION.c.id.in_(list(ids)))
        rows = await conn.execute(stmt)
    else:
        rows = await conn.execute(
            text("SELECT rowid, snippet(mention_fts, 0, :a, :b, '…', 24) FROM mention_fts "
                 "WHERE mention_fts MATCH :q_fts AND rowid IN (SELECT value FROM json_each(:ids))"),
            {"a": HL_START, "b": HL_END, "q_fts": fts5_match(terms), "ids": "[" + ",".join(map(str, ids)) + "]"})
    return {int(i): s for i, s in rows if s}


async def search(terms: list[Term], filters: SearchFilters, *, conn: AsyncConnection, limit: int,
                 after: tuple[float, int] | None = None) -> list[Hit]:
    """A page of hits: the items in rank order with their snippets."""
    found = await search_ids(terms, filters, conn=conn, limit=limit, after=after)
    ids = [i for i, _ in found]
    items = await summaries_by_id(ids, conn=conn)
    snip = await snippets(terms, ids, conn=conn)
    return [Hit(items[i], s, snip.get(i)) for i, s in found if i in items]
