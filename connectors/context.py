"""Thread context: the posts a mention answers, fetched by the ids the platform gave.

A mention names its parent in ``reply_to_id`` and its thread's first post in ``thread_id``.
A connector that can look posts up by those ids implements :class:`ContextFetcher`:
``fetch_context(ids)`` returns the posts found, keyed by the id exactly as the mention carries
it (so the inbox's lookup matches), and the ids the platform says do not exist (deleted,
removed: ``missing``). Only platform ids are sent, never a URL found in a mention's text.
Failures raise :class:`connectors.errors.ConnectorError` like a poll does; the caller retries
later. A connector without such a lookup (RSS, webhook, imports) gives nothing.

Per platform (``base_url`` is the connector's):

* Mastodon: ``GET /api/v1/statuses/{id}`` per id (``in_reply_to_id`` is the status id on the
  polled server); 404 is missing.
* Bluesky: ``GET /xrpc/app.bsky.feed.getPosts?uris=…`` (25 at a time); a uri left out is missing.
* Reddit: ``GET /api/info?id=t1_…,t3_…`` (100 at a time); a fullname left out, or a deleted or
  removed one, is missing.
* X: ``GET /2/tweets?ids=…&expansions=author_id&tweet.fields=created_at`` (100 at a time); an id
  left out (the response's ``errors``) is missing.
* YouTube: ``comments.list?id=…&part=snippet`` for comment ids, ``videos.list?id=…&part=snippet``
  for video ids (11 characters), 50 at a time; an id left out is missing.
* Hacker News (Algolia): ``GET /api/v1/items/{id}`` per id; 404, or a deleted item, is missing.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .base import Mention

__all__ = ["ContextPost", "ContextResult", "ContextFetcher", "fetch_context", "post_of", "chunks"]


@dataclass(slots=True)
class ContextPost:
    """One post of a thread, keyed by ``key``: the id as mentions name it."""

    key: str
    text: str
    url: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    created_at: datetime | None = None


@dataclass(slots=True)
class ContextResult:
    posts: dict[str, ContextPost] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)


@runtime_checkable
class ContextFetcher(Protocol):
    """A connector that can fetch posts by the ids its mentions carry."""

    context_batch: int

    async def fetch_context(self, ids: Sequence[str]) -> ContextResult: ...


def post_of(key: str, mention: Mention) -> ContextPost:
    """A post parsed by the connector's own mention parser, under ``key``."""
    return ContextPost(key=key, text=mention.text, url=mention.url, author_handle=mention.author_handle,
                       author_name=mention.author_name, created_at=mention.created_at)


def chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    unique = list(dict.fromkeys(i for i in ids if i))
    return [unique[i:i + size] for i in range(0, len(unique), size)]


async def fetch_context(connector: Any, ids: Sequence[str]) -> ContextResult:
    """``connector.fetch_context(ids)`` in the connector's batch size; an empty result for a
    connector without a lookup. Stops at the first failure (raised)."""
    out = ContextResult()
    if not isinstance(connector, ContextFetcher):
        return out
    for batch in chunks(ids, max(1, connector.context_batch)):
        got = await connector.fetch_context(batch)
        out.posts.update(got.posts)
        out.missing |= got.missing - set(got.posts)
    return out
