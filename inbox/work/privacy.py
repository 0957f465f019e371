"""Data-subject requests: the export of everything stored about an author, and its erasure.

Erasure deletes the author's mentions with every row that belongs to them (items, routing
decisions, events and notes, corrections, notifications, replies) and the dead letters that name
them, keeps a tombstone of each mention's (source, external_id) and of each dead letter's digest
so that no later poll, import or webhook stores them again, deletes the posts of theirs fetched as
thread context (with a tombstone each, so the thread-context job does not fetch them again), and
writes one audit event (kind ``privacy_erased``) that holds counts and a hash of the handle, never
the erased data. All of it is one transaction."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.errors import Invalid
from inbox.storage.engine import reader
from inbox.storage.repo import context_posts, items, personal_data

__all__ = ["subject_export", "erase_author", "ERASED"]

log = structlog.get_logger(__name__)

ERASED = "privacy_erased"


def _checked(handle: str) -> str:
    if not personal_data.handle_variants(handle):
        raise Invalid("an author handle is needed")
    return handle


def handle_digest(handle: str) -> str:
    """A stable, non-reversible reference to an author for the audit trail."""
    return hashlib.sha256(personal_data.handle_variants(handle)[0].encode()).hexdigest()[:16]


async def subject_export(engine: AsyncEngine, handle: str, *, source: str | None = None) -> dict[str, Any]:
    """Everything stored about the author: mentions with their raw payloads, and per mention the
    rows of every other table (items, decisions, events with the notes, replies...), dead letters, and
    the posts of theirs fetched as thread context."""
    _checked(handle)
    async with reader(engine).connect() as conn:
        found = await personal_data.author_mentions(handle, conn=conn, source=source)
        related = await personal_data.rows_of_mentions([m["id"] for m in found], conn=conn)
        dead = await personal_data.author_dead_letters(handle, conn=conn, source=source)
        context = await context_posts.author_posts(personal_data.handle_variants(handle), conn=conn, source=source)
    out: list[dict[str, Any]] = []
    for m in found:
        rel: dict[str, list[dict[str, Any]]] = {}
        for table, rows in related.items():
            mine = [r for r in rows if r.get("item_id", r.get("mention_id")) == m["id"]]
            if mine:
                rel[table] = mine
        out.append({**m, "related": rel})
    return {"author": handle, "source": source, "mentions": out, "dead_letters": dead, "context_posts": context}


async def erase_author(engine: AsyncEngine, handle: str, *, actor: str, now: datetime,
                       source: str | None = None) -> dict[str, Any]:
    """Erase the author's data (see the module docstring); returns what was removed, in counts."""
    _checked(handle)
    async with engine.begin() as conn:
        found = await personal_data.author_mentions(handle, conn=conn, source=source)
        dead = await personal_data.author_dead_letters(handle, conn=conn, source=source)
        counts = await personal_data.erase_rows(found, dead, conn=conn, now=now)
        context = await context_posts.author_posts(personal_data.handle_variants(handle), conn=conn, source=source)
        if context:
            counts["context_post"] = await context_posts.erase_posts(context, conn=conn, now=now)
        summary = {"author_sha256": handle_digest(handle), "source": source, "mentions": len(found),
                   "dead_letters": len(dead), "context_posts": len(context),
                   "tombstones": len({(m["source"], m["external_id"]) for m in found}
                                     | {(c["source"], c["external_id"]) for c in context}),
                   "rows": counts}
        await items.insert_events([{"item_id": None, "kind": ERASED, "actor": actor[:64], "team": None,
                                    "data": summary, "created_at": now}], conn=conn)
    log.info("privacy_erased", author_sha256=summary["author_sha256"], mentions=len(found),
             dead_letters=len(dead), actor=actor)
    return summary
