"""Thread context's SQL: which posts that open items answer are stored nowhere yet, storing what
the platforms gave (inbox/work/thread_context.py), reading one back for the item page, and the
governance of these rows (an author's export and erasure, retention)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_CONTEXT, T_ITEM, T_MENTION, T_TOMBSTONE, dialect_insert
from inbox.storage.tables import ItemStatus

__all__ = ["wanted", "store", "context_post_sync", "author_posts", "erase_posts", "drop_for_stripped"]

_CHUNK = 500


async def wanted(*, conn: AsyncConnection, since: datetime, limit: int = 500,
                 pages: int = 20) -> dict[str, list[tuple[str, str]]]:
    """Per source, the (platform, id) of the parents and thread starts named by mentions of open
    items fetched since ``since`` that are stored neither as a mention, nor as a context post
    (found or gone), nor erased (a tombstone): about ``limit`` of them, from the newest mentions
    back (at most ``pages`` pages of ``limit`` mentions are read)."""
    out: dict[str, list[tuple[str, str]]] = {}
    taken: set[tuple[str, str]] = set()
    found, before = 0, None
    for _ in range(pages):
        q = (select(T_MENTION.c.id, T_MENTION.c.source, T_MENTION.c.platform, T_MENTION.c.external_id,
                    T_MENTION.c.reply_to_id, T_MENTION.c.thread_id)
             .join(T_ITEM, T_ITEM.c.id == T_MENTION.c.id)
             .where(T_ITEM.c.status.in_(ItemStatus.OPEN), T_MENTION.c.fetched_at >= since, T_MENTION.c.text != "",
                    or_(T_MENTION.c.reply_to_id.is_not(None), T_MENTION.c.thread_id.is_not(None)))
             .order_by(T_MENTION.c.id.desc()).limit(limit))
        if before is not None:
            q = q.where(T_MENTION.c.id < before)
        rows = (await conn.execute(q)).all()
        keys: dict[tuple[str, str], str] = {}
        for _id, source, platform, own, parent, root in rows:
            for key in (parent, root):
                if key and key != own and (source, key) not in taken:
                    keys.setdefault((source, key), platform)
        known = await _known(sorted(keys), conn=conn) if keys else set()
        for (source, key), platform in keys.items():
            taken.add((source, key))
            if (source, key) not in known:
                out.setdefault(source, []).append((platform, key))
                found += 1
        if found >= limit or len(rows) < limit:
            break
        before = rows[-1][0]
    return out


async def _known(pairs: list[tuple[str, str]], *, conn: AsyncConnection) -> set[tuple[str, str]]:
    """Which (source, external_id) are stored as a mention, a context post or a tombstone."""
    known: set[tuple[str, str]] = set()
    for t in (T_MENTION, T_CONTEXT, T_TOMBSTONE):
        for i in range(0, len(pairs), _CHUNK):
            chunk = pairs[i:i + _CHUNK]
            cond = or_(*[and_(t.c.source == s, t.c.external_id == e) for s, e in chunk])
            known |= {(r[0], r[1]) for r in await conn.execute(select(t.c.source, t.c.external_id).where(cond))}
    return known


async def store(source: str, platform: str, posts: Iterable[Any], missing: Iterable[str], *,
                conn: AsyncConnection, now: datetime) -> int:
    """Insert the fetched posts (``connectors.context.ContextPost``) and a ``gone`` row for each
    missing id; a key erased meanwhile (tombstone) or already stored is skipped. Returns rows added."""
    rows = [{"source": source, "platform": platform, "external_id": p.key, "author_handle": p.author_handle,
             "author_name": p.author_name, "text": p.text, "url": p.url, "created_at": p.created_at,
             "fetched_at": now, "gone": False} for p in posts]
    rows += [{"source": source, "platform": platform, "external_id": k, "author_handle": None, "author_name": None,
              "text": "", "url": None, "created_at": None, "fetched_at": now, "gone": True} for k in missing]
    keys = [r["external_id"] for r in rows]
    if not keys:
        return 0
    erased = {r[0] for r in await conn.execute(select(T_TOMBSTONE.c.external_id).where(
        T_TOMBSTONE.c.source == source, T_TOMBSTONE.c.external_id.in_(keys)))}
    rows = [r for r in rows if r["external_id"] not in erased]
    if not rows:
        return 0
    stmt = dialect_insert(conn, T_CONTEXT).on_conflict_do_nothing(index_elements=["source", "external_id"])
    return (await conn.execute(stmt, rows)).rowcount or 0


def context_post_sync(c: Connection, source: str, external_id: str) -> dict[str, Any] | None:
    """The stored context post ``external_id`` of ``source`` (with ``gone``), shaped like a mention
    row for the item page (``id`` None: it is not an item)."""
    q = (select(T_CONTEXT.c.external_id, T_CONTEXT.c.text, T_CONTEXT.c.author_handle, T_CONTEXT.c.url,
                T_CONTEXT.c.created_at, T_CONTEXT.c.gone)
         .where(T_CONTEXT.c.source == source, T_CONTEXT.c.external_id == external_id))
    row = c.execute(q).first()
    return {"id": None, **dict(row._mapping)} if row else None


async def author_posts(names: Sequence[str], *, conn: AsyncConnection, source: str | None = None
                       ) -> list[dict[str, Any]]:
    """The context posts written by the author (``names``: the handle's stored forms, lower case)."""
    if not names:
        return []
    q = select(T_CONTEXT).where(func.lower(T_CONTEXT.c.author_handle).in_(list(names))).order_by(T_CONTEXT.c.id)
    if source is not None:
        q = q.where(T_CONTEXT.c.source == source)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def erase_posts(rows: Sequence[dict[str, Any]], *, conn: AsyncConnection, now: datetime) -> int:
    """Delete these context posts and keep a tombstone of each key, so no later fetch stores them again."""
    ids = [int(r["id"]) for r in rows]
    n = 0
    for i in range(0, len(ids), _CHUNK):
        n += (await conn.execute(delete(T_CONTEXT).where(T_CONTEXT.c.id.in_(ids[i:i + _CHUNK])))).rowcount or 0
    keys = sorted({(r["source"], r["external_id"]) for r in rows})
    if keys:
        stmt = dialect_insert(conn, T_TOMBSTONE).on_conflict_do_nothing(index_elements=["source", "external_id"])
        await conn.execute(stmt, [{"source": s, "external_id": e, "created_at": now} for s, e in keys])
    return n


async def drop_for_stripped(ids: Sequence[int], *, conn: AsyncConnection) -> int:
    """Retention: delete the context posts answered by these mentions (stripped of their text) that
    no mention still holding its text names as parent or thread start."""
    q = select(T_MENTION.c.source, T_MENTION.c.reply_to_id, T_MENTION.c.thread_id).where(T_MENTION.c.id.in_(list(ids)))
    keys = {(s, k) for s, p, r in await conn.execute(q) for k in (p, r) if k}
    stored: set[tuple[str, str]] = set()
    for source in {s for s, _ in keys}:  # most parents were never fetched: look further only for stored ones
        named_here = [k for s, k in keys if s == source]
        stored |= {(source, r[0]) for r in await conn.execute(select(T_CONTEXT.c.external_id).where(
            T_CONTEXT.c.source == source, T_CONTEXT.c.external_id.in_(named_here)))}
    n = 0
    for source, key in sorted(stored):
        other = T_MENTION.alias("other")
        named = exists().where(other.c.source == source, other.c.text != "",
                               or_(other.c.reply_to_id == key, other.c.thread_id == key))
        n += (await conn.execute(delete(T_CONTEXT).where(T_CONTEXT.c.source == source,
                                                         T_CONTEXT.c.external_id == key, ~named))).rowcount or 0
    return n
