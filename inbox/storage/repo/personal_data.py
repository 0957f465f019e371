"""What is stored about one author, and its removal: the SQL of erasure, subject export and
retention (inbox/work/privacy.py, inbox/work/retention.py).

An author's rows are found through ``mention.author_handle`` (with or without the leading ``@``,
any case); every table with an ``item_id`` or ``mention_id`` column holds rows that belong to a
mention, so erasure walks the metadata instead of a list that a new table could miss."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, func, null, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage import tables
from inbox.storage.repo._common import (
    T_DEAD,
    T_EVENT,
    T_ITEM,
    T_MENTION,
    T_TOMBSTONE,
    T_USER_NOTE,
    dialect_insert,
)
from inbox.storage.repo.mentions import dead_letter_key

__all__ = ["handle_variants", "author_mentions", "author_dead_letters", "rows_of_mentions", "erase_rows",
           "retention_candidates", "strip_personal_data"]

_CHUNK = 500
_WRITTEN = ("text", "body", "review_note")  # columns of what people wrote (replies and the like)
_AUTHOR_KEYS = {"author", "author_handle", "handle", "username", "acct", "screen_name", "user", "by"}


def handle_variants(handle: str) -> list[str]:
    """``@Mario.Rossi`` -> ``["mario.rossi", "@mario.rossi"]``: how one author may be stored."""
    h = handle.strip().lstrip("@").lower()
    return [h, "@" + h] if h else []


def _mention_tables() -> list[tuple[Table, str]]:
    """Every table (but ``mention``) with rows belonging to a mention, children first."""
    out = []
    for t in reversed(tables.metadata.sorted_tables):
        if t.name == "mention" or t.name == "crisis":
            continue
        for col in ("item_id", "mention_id"):
            if col in t.c:
                out.append((t, col))
                break
    return out


async def author_mentions(handle: str, *, conn: AsyncConnection, source: str | None = None) -> list[dict[str, Any]]:
    """Every stored mention of the author (whole rows), oldest first."""
    names = handle_variants(handle)
    if not names:
        return []
    q = select(T_MENTION).where(func.lower(T_MENTION.c.author_handle).in_(names)).order_by(T_MENTION.c.id)
    if source is not None:
        q = q.where(T_MENTION.c.source == source)
    return [dict(r._mapping) for r in await conn.execute(q)]


def _is_authors(raw: str, names: Sequence[str]) -> bool:
    try:
        doc = json.loads(raw)
    except ValueError:
        return any(n in raw.lower() for n in names)
    stack = [doc]
    while stack:
        o = stack.pop()
        if isinstance(o, dict):
            for k, v in o.items():
                if k.lower() in _AUTHOR_KEYS and isinstance(v, str) and v.strip().lower() in names:
                    return True
                stack.append(v)
        elif isinstance(o, list):
            stack.extend(o)
    return False


async def author_dead_letters(handle: str, *, conn: AsyncConnection, source: str | None = None
                              ) -> list[dict[str, Any]]:
    """Dead letters whose raw payload names the author (an author field of the JSON, or the
    handle anywhere in a payload that is not JSON)."""
    names = handle_variants(handle)
    if not names:
        return []
    q = select(T_DEAD).where(func.lower(T_DEAD.c.raw).contains(names[0], autoescape=True)).order_by(T_DEAD.c.id)
    if source is not None:
        q = q.where(T_DEAD.c.source == source)
    return [dict(r._mapping) for r in await conn.execute(q) if _is_authors(r.raw, names)]


async def rows_of_mentions(ids: Sequence[int], *, conn: AsyncConnection) -> dict[str, list[dict[str, Any]]]:
    """The rows of every table that belong to these mentions, by table name."""
    out: dict[str, list[dict[str, Any]]] = {}
    for t, col in _mention_tables():
        found: list[dict[str, Any]] = []
        for i in range(0, len(ids), _CHUNK):
            q = select(t).where(t.c[col].in_(list(ids[i:i + _CHUNK])))
            found += [dict(r._mapping) for r in await conn.execute(q)]
        if found:
            out[str(t.name)] = found
    return out


async def erase_rows(mentions: Sequence[dict[str, Any]], dead: Sequence[dict[str, Any]], *, conn: AsyncConnection,
                     now: datetime) -> dict[str, int]:
    """Delete the mentions, every row belonging to them and the dead letters; keep a tombstone of
    each mention's key and of each dead letter's (:func:`dead_letter_key`, so the same refused line
    or item replayed is not stored again). Returns the number of rows deleted per table."""
    counts: dict[str, int] = {}
    dead_ids = [int(d["id"]) for d in dead]
    ids = [int(m["id"]) for m in mentions]
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        for t, col in _mention_tables():
            n = (await conn.execute(delete(t).where(t.c[col].in_(chunk)))).rowcount or 0
            if n:
                counts[str(t.name)] = counts.get(str(t.name), 0) + n
        for t in (T_ITEM,):
            n = (await conn.execute(delete(t).where(t.c.id.in_(chunk)))).rowcount or 0
            if n:
                counts[str(t.name)] = counts.get(str(t.name), 0) + n
        counts["mention"] = counts.get("mention", 0) + ((await conn.execute(
            delete(T_MENTION).where(T_MENTION.c.id.in_(chunk)))).rowcount or 0)
    for i in range(0, len(dead_ids), _CHUNK):
        counts["dead_letter"] = counts.get("dead_letter", 0) + ((await conn.execute(
            delete(T_DEAD).where(T_DEAD.c.id.in_(list(dead_ids[i:i + _CHUNK]))))).rowcount or 0)
    if ids and conn.dialect.name == "sqlite" and (await conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = 'mention_fts'"))).first() is not None:
        # the search index's triggers mark the rows deleted; merging its segments drops the words too
        await conn.execute(text("INSERT INTO mention_fts(mention_fts) VALUES ('optimize')"))
    counts.update(await _redact_quotes([str(m["text"]) for m in mentions if m.get("text")], conn=conn))
    keys = sorted({(m["source"], m["external_id"]) for m in mentions}
                  | {(d["source"], dead_letter_key(d["digest"])) for d in dead})
    if keys:
        stmt = dialect_insert(conn, T_TOMBSTONE).on_conflict_do_nothing(index_elements=["source", "external_id"])
        await conn.execute(stmt, [{"source": s, "external_id": e, "created_at": now} for s, e in keys])
    return counts


# JSON documents that quote mentions without pointing at them: a brief's themes and examples, a
# crisis's sample
_QUOTING = (("digest_run", "brief"), ("crisis", "data"))


def _redacted(o: Any, texts: Sequence[str]) -> tuple[Any, bool]:
    if isinstance(o, str):
        hit = any(t in o or (len(o) >= 20 and o.rstrip("…. ") in t) for t in texts)
        return ("[erased]", True) if hit else (o, False)
    if isinstance(o, list):
        pairs = [_redacted(v, texts) for v in o]
        return [v for v, _ in pairs], any(c for _, c in pairs)
    if isinstance(o, dict):
        items = {k: _redacted(v, texts) for k, v in o.items()}
        return {k: v for k, (v, _) in items.items()}, any(c for _, c in items.values())
    return o, False


async def _redact_quotes(texts: Sequence[str], *, conn: AsyncConnection) -> dict[str, int]:
    """Replace every quote of these texts in the documents of :data:`_QUOTING` by ``[erased]``."""
    out: dict[str, int] = {}
    texts = [t for t in texts if t.strip()]
    for name, col in _QUOTING:
        t = tables.metadata.tables.get(name)
        if t is None or not texts:
            continue
        for row in (await conn.execute(select(t.c.id, t.c[col]).where(t.c[col].is_not(None)))).all():
            doc, changed = _redacted(row[1], texts)
            if changed:
                await conn.execute(update(t).where(t.c.id == row[0]).values({col: doc}))
                out[name] = out.get(name, 0) + 1
    return out


async def retention_candidates(team: str, before: datetime, *, conn: AsyncConnection, limit: int = 1000) -> list[int]:
    """Closed items of ``team`` (resolved or spam) closed before ``before`` whose mention still has
    its text."""
    closed_at = func.coalesce(T_ITEM.c.resolved_at, T_ITEM.c.updated_at)
    q = (select(T_ITEM.c.id).select_from(T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id))
         .where(T_ITEM.c.team == team, T_ITEM.c.status.in_(("resolved", "spam")), closed_at < before,
                or_(T_MENTION.c.text != "", T_MENTION.c.author_handle.is_not(None)))
         .order_by(T_ITEM.c.id).limit(limit))
    return [int(r[0]) for r in await conn.execute(q)]


async def strip_personal_data(ids: Sequence[int], *, conn: AsyncConnection) -> dict[str, int]:
    """Clear the text, author, link and raw payload of these mentions, the text of their notes (and
    the quote of a note in a notification for people) and the explanation of their routing; delete
    the other rows that hold what was written (tables with a ``text`` or ``body`` column: replies).
    The rows themselves stay, so counts do not change."""
    ids = list(ids)
    n = (await conn.execute(update(T_MENTION).where(T_MENTION.c.id.in_(ids)).values(
        text="", author_handle=None, author_name=None, url=None, raw=null()))).rowcount or 0
    notes = (await conn.execute(update(T_EVENT).where(and_(T_EVENT.c.item_id.in_(ids), T_EVENT.c.kind == "note"))
                                .values(data={}))).rowcount or 0
    # a notification of an @name quotes the start of its note
    out = {"mention": n, "note": notes, "notified_note": (await conn.execute(
        update(T_USER_NOTE).where(and_(T_USER_NOTE.c.item_id.in_(ids), T_USER_NOTE.c.kind == "mentioned"))
        .values(data={}))).rowcount or 0}
    for t, col in _mention_tables():
        if t.name == "routing_decision":
            await conn.execute(update(t).where(t.c[col].in_(ids)).values(explanation=null()))
        elif t.name not in ("event", "queue_item") and any(c in t.c for c in _WRITTEN):
            vals: dict[str, Any] = {c: ("" if not t.c[c].nullable else None) for c in _WRITTEN if c in t.c}
            out[str(t.name)] = (await conn.execute(update(t).where(t.c[col].in_(ids)).values(**vals))).rowcount or 0
    return out
