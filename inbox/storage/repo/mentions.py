"""Mentions, routing decisions, dead letters: the bulk write path of ingest."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import (
    T_DEAD,
    T_DECISION,
    T_MENTION,
    T_TOMBSTONE,
    dialect_insert,
    insert_rows,
    insert_rows_sync,
)

__all__ = ["dead_letter_key", "existing_keys", "insert_mentions", "insert_mentions_sync", "insert_decisions",
           "insert_decisions_sync", "insert_dead_letters_sync"]

_CHUNK = 500

# built once: a statement built per call costs more CPU than a small batch's lookup itself
_KNOWN = tuple(select(t.c.external_id).where(t.c.source == bindparam("source"),
                                             t.c.external_id.in_(bindparam("ids", expanding=True)))
               for t in (T_MENTION, T_TOMBSTONE))


async def existing_keys(keys: Sequence[tuple[str, str]], *, conn: AsyncConnection) -> set[tuple[str, str]]:
    """Which of the (source, external_id) keys are already stored, or were erased on request (a
    tombstone: inbox/work/privacy.py), so that neither is stored again."""
    found: set[tuple[str, str]] = set()
    if conn.dialect.name == "postgresql" and keys:
        # A prepared statement's generic plan is chosen once per connection: picked while the table
        # was nearly empty (or never analyzed) it stays a sequential scan as the table grows to
        # millions, seconds per batch. Plan this batch lookup for its actual arguments instead.
        await conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    by_source: dict[str, list[str]] = {}
    for s, e in keys:
        by_source.setdefault(s, []).append(e)
    for source, ids in by_source.items():
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            for stmt in _KNOWN:
                rows = await conn.execute(stmt, {"source": source, "ids": chunk})
                found.update((source, r[0]) for r in rows)
    return found


async def insert_mentions(rows: list[dict[str, Any]], *, conn: AsyncConnection) -> dict[tuple[str, str], int]:
    """:func:`insert_mentions_sync` on an async connection."""
    return await conn.run_sync(insert_mentions_sync, rows)


def insert_mentions_sync(c: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert idempotently on (source, external_id); returns the ids of the rows actually inserted,
    keyed by (source, external_id). Rows already stored are skipped, not updated.

    Rows go in in key order: two transactions inserting overlapping batches (two instances, a
    webhook retried on another instance) then take the unique-index locks in the same order and
    one waits for the other, instead of deadlocking."""
    rows = sorted(rows, key=lambda r: (r["source"], r["external_id"]))
    got = insert_rows_sync(c, T_MENTION, rows, conflict=["source", "external_id"],
                           returning=["id", "source", "external_id"])
    return {(src, ext): int(mid) for mid, src, ext in got}


async def insert_decisions(rows: list[dict[str, Any]], *, conn: AsyncConnection) -> None:
    await insert_rows(conn, T_DECISION, rows)


def insert_decisions_sync(c: Connection, rows: list[dict[str, Any]]) -> None:
    insert_rows_sync(c, T_DECISION, rows)


def insert_dead_letters_sync(c: Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Store rejected input; the same rejected line or item replayed is stored once, and not at
    all once it was erased on request."""
    out = []
    for r in rows:
        digest = hashlib.sha256(f"{r.get('line_no')}\x00{r['reason']}\x00{r['raw']}".encode()).hexdigest()
        out.append({**r, "digest": digest})
    if out:
        out = _not_erased(c, out)
    if out:
        out.sort(key=lambda r: (r["source"], r["digest"]))  # one lock order for concurrent writers
        stmt = dialect_insert(c, T_DEAD).on_conflict_do_nothing(index_elements=["source", "digest"])
        c.execute(stmt, out)
    return len(out)


def dead_letter_key(digest: str) -> str:
    """A dead letter's key in ``tombstone`` (as its ``external_id``) once it was erased: the digest
    that identifies the refused line or item, which a replay of it computes again."""
    return "dead-letter:" + digest


def _not_erased(c: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dead letters whose line or item was not erased on request (a tombstone of its digest:
    inbox/storage/repo/personal_data.py dead_letter_key)."""
    erased: set[tuple[str, str]] = set()
    by_source: dict[str, list[str]] = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(dead_letter_key(r["digest"]))
    for source, keys in by_source.items():
        for i in range(0, len(keys), _CHUNK):
            found = c.execute(select(T_TOMBSTONE.c.external_id).where(
                T_TOMBSTONE.c.source == source, T_TOMBSTONE.c.external_id.in_(keys[i:i + _CHUNK])))
            erased.update((source, k) for (k,) in found)
    return [r for r in rows if (r["source"], dead_letter_key(r["digest"])) not in erased]


async def dead_letters(*, conn: AsyncConnection, source: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    q = select(T_DEAD).order_by(T_DEAD.c.id.desc()).limit(limit)
    if source:
        q = q.where(T_DEAD.c.source == source)
    return [dict(r._mapping) for r in await conn.execute(q)]
