"""The figures BM25 needs about the whole SQLite search index: how many mentions it holds, their
mean length in words, and how many hold each phrase (``inbox.domain.bm25``). Each is read on first
use and kept for ``TTL_SECONDS`` per engine: counting the mentions that hold a common word walks
its whole doclist (tens of milliseconds at a million mentions), which FTS5's own ``bm25()`` did on
every query. The figures move slowly with the collection, so a few minutes' lag shifts scores a
little and never changes which mentions match."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import text
from sqlalchemy.engine import Connection

from inbox.domain import bm25

__all__ = ["Collection", "collection", "phrase_rows", "TTL_SECONDS", "LENGTH_SAMPLE"]

TTL_SECONDS = 600.0
#: the mean length is measured on the newest mentions, this many
LENGTH_SAMPLE = 2000
_MAX_PHRASES = 4096


@dataclass(frozen=True, slots=True)
class Collection:
    rows: int
    mean_length: float
    read_at: float


@dataclass
class _Cache:
    collection: Collection | None = None
    phrases: dict[str, tuple[int, float]] = field(default_factory=dict)  # MATCH text -> (rows, read at)


_CACHES: WeakKeyDictionary[Any, _Cache] = WeakKeyDictionary()
_LOCK = threading.Lock()


def _cache(conn: Connection) -> _Cache:
    with _LOCK:
        found = _CACHES.get(conn.engine)
        if found is None:
            found = _CACHES[conn.engine] = _Cache()
        return found


def collection(conn: Connection, *, clock: Callable[[], float] = time.monotonic) -> Collection:
    """The number of indexed mentions and their mean length in words (text and author together),
    read again once ``TTL_SECONDS`` old."""
    cache, now = _cache(conn), clock()
    held = cache.collection
    if held is not None and now - held.read_at < TTL_SECONDS:
        return held
    rows = int(conn.execute(text("SELECT count(*) FROM mention")).scalar_one())
    sample = conn.execute(text("SELECT text, author_handle FROM mention ORDER BY id DESC LIMIT :n"),
                          {"n": LENGTH_SAMPLE}).all()
    lengths = [len(bm25.words(t)) + len(bm25.words(a)) for t, a in sample]
    mean = sum(lengths) / len(lengths) if lengths else 0.0
    cache.collection = held = Collection(rows, mean, now)
    return held


def phrase_rows(conn: Connection, match: str, *, clock: Callable[[], float] = time.monotonic) -> int:
    """How many indexed mentions hold ``match`` (one FTS5 phrase, in MATCH syntax)."""
    cache, now = _cache(conn), clock()
    held = cache.phrases.get(match)
    if held is not None and now - held[1] < TTL_SECONDS:
        return held[0]
    n = int(conn.execute(text("SELECT count(*) FROM mention_fts WHERE mention_fts MATCH :q"), {"q": match})
            .scalar_one())
    if len(cache.phrases) >= _MAX_PHRASES:
        cache.phrases.clear()
    cache.phrases[match] = (n, now)
    return n
