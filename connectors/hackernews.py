"""Hacker News through the Algolia API: ``/api/v1/search_by_date``.

Settings: ``query`` terms; ``base_url`` default ``https://hn.algolia.com``; ``options.tags``
(default ``(story,comment)``). No auth, no rate-limit headers.

Cursor per term: ``{"watermark": <max created_at_i>, "seen": {objectID: created_at_i}}``. A poll
sends ``numericFilters=created_at_i>=<watermark - overlap>`` (default overlap 5 min) and walks
``page`` until ``nbPages`` (at most 1000 hits, the API's cap); ``objectID`` dedupes the overlap.
A first run takes page 0 without a filter. Text never comes from ``_highlightResult``.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .base import Mention, Reject
from .context import ContextResult, post_of
from .errors import PayloadError
from .html import collapse_whitespace, html_to_text
from .normalize import ItemError, lenient_datetime, parse_items, pick_created_at, require, require_text
from .paging import PageNumberPaginator
from .polling import PollingConnector, SeenSet, Stream, StreamOutcome

__all__ = ["parse_search", "hit_to_mention", "HackerNewsConnector"]

_MAX_HITS = 1000


def hit_to_mention(hit: dict[str, Any], *, source: str) -> Mention:
    """One Algolia hit (story or comment) → :class:`Mention`."""
    object_id = str(require(hit, "objectID"))
    title = collapse_whitespace(str(hit.get("title") or ""))
    if hit.get("comment_text"):
        text = html_to_text(hit["comment_text"])
    else:
        body = html_to_text(hit.get("story_text") or "")
        text = "\n".join(part for part in (title, body) if part)
    provenance: dict[str, str] = {}
    created = pick_created_at([("created_at", hit.get("created_at")), ("created_at_i", hit.get("created_at_i"))],
                              None, provenance)
    updated = lenient_datetime(hit.get("updated_at"))[0]
    tags = hit.get("_tags") or []
    is_comment = "comment" in tags or hit.get("comment_text") is not None
    return Mention(
        source=source,
        platform="hackernews",
        external_id=object_id,
        text=require_text(text),
        url=f"https://news.ycombinator.com/item?id={object_id}",
        author_handle=hit.get("author"),
        author_name=hit.get("author"),
        created_at=created,
        reply_to_id=str(hit["parent_id"]) if hit.get("parent_id") is not None else None,
        thread_id=str(hit["story_id"]) if is_comment and hit.get("story_id") is not None else object_id,
        metrics={
            k: v for k, v in (("score", hit.get("points")), ("replies", hit.get("num_comments"))) if v is not None
        },
        edited_at=updated if updated and created and updated > created else None,
        raw=hit,
        provenance=provenance,
    )


def item_to_hit(item: dict[str, Any]) -> dict[str, Any]:
    """An ``/api/v1/items/{id}`` item in the shape of a search hit (for :func:`hit_to_mention`)."""
    is_comment = item.get("type") == "comment"
    return {"objectID": str(require(item, "id")), "title": item.get("title"), "author": item.get("author"),
            "created_at": item.get("created_at"), "created_at_i": item.get("created_at_i"),
            "comment_text" if is_comment else "story_text": item.get("text"),
            "parent_id": item.get("parent_id"), "story_id": item.get("story_id"),
            "_tags": ["comment" if is_comment else "story"]}


def _hits(payload: Any) -> list[Any]:
    hits = payload.get("hits") if isinstance(payload, dict) else None
    if not isinstance(hits, list):
        raise PayloadError("expected an Algolia result with 'hits'")
    return hits


def parse_search(payload: Any, *, source: str) -> tuple[list[Mention], list[Reject]]:
    """A ``search_by_date`` response → (mentions, rejects)."""
    return parse_items(_hits(payload), source, lambda h: hit_to_mention(h, source=source))


@dataclass(frozen=True, slots=True)
class HackerNewsStream(Stream):
    term: str = ""


class HackerNewsConnector(PollingConnector[HackerNewsStream]):
    """Polls Algolia ``search_by_date`` per term with a ``created_at_i`` watermark."""

    type = "hackernews"
    default_page_size = 100
    max_page_size = 1000

    context_batch = 20

    async def fetch_context(self, ids: Sequence[str]) -> ContextResult:
        """``GET /api/v1/items/{id}`` per id; 404 or a deleted item (no text, no author) is missing."""
        out = ContextResult()
        for item_id in ids:
            if not item_id.isdigit():
                out.missing.add(item_id)
                continue
            response = await self.http.request("GET", f"{self.settings.base()}/api/v1/items/{item_id}",
                                               accept=frozenset({404}), decode=json.loads)
            item = response.json() if response.status != 404 else None
            try:
                if not isinstance(item, dict) or not item.get("author"):
                    raise ItemError("deleted")
                out.posts[item_id] = post_of(item_id, hit_to_mention(item_to_hit(item), source=self.name))
            except (ItemError, KeyError, TypeError, ValueError):
                out.missing.add(item_id)
        return out

    def streams(self) -> list[HackerNewsStream]:
        return [HackerNewsStream(key=term, label=term, term=term) for term in self.settings.query]

    async def poll_stream(self, stream: HackerNewsStream, state: dict[str, Any], started: datetime) -> StreamOutcome:
        watermark = state.get("watermark")
        seen = SeenSet(state.get("seen"))
        overlap = int(self.overlap.total_seconds())
        params = {
            "query": stream.term,
            "tags": str(self.settings.options.get("tags", "(story,comment)")),
            "hitsPerPage": str(self.page_size),
        }
        if watermark is not None:
            params["numericFilters"] = f"created_at_i>={int(watermark) - overlap}"
        page_cap = max(1, min(self.max_pages, _MAX_HITS // self.page_size))
        pager = PageNumberPaginator(max_pages=1 if watermark is None else page_cap)
        mentions: list[Mention] = []
        rejects: list[Reject] = []
        newest: int | None = int(watermark) if watermark is not None else None
        pages = 0
        while not pager.done:
            payload, _ = await self.http.get_json(
                f"{self.settings.base()}/api/v1/search_by_date", params={**params, **pager.params()},
            )
            pages += 1
            fresh = [h for h in _hits(payload) if not (isinstance(h, dict) and str(h.get("objectID")) in seen)]
            page, page_rejects = parse_items(fresh, self.name, lambda h: hit_to_mention(h, source=self.name))
            rejects.extend(page_rejects)
            for reject in page_rejects:  # remember rejected ids so the overlap does not re-reject them
                hit = fresh[reject.position or 0]
                if isinstance(hit, dict) and hit.get("objectID") is not None:
                    seen.add(str(hit["objectID"]), float(hit.get("created_at_i") or int(started.timestamp())))
            for mention in page:
                stamp = mention.raw.get("created_at_i")
                ts = int(stamp) if isinstance(stamp, (int, float)) else int((mention.created_at or started).timestamp())
                if mention.external_id in seen:
                    continue
                seen.add(mention.external_id, ts)
                mentions.append(mention)
                newest = ts if newest is None or ts > newest else newest
            pager.advance(payload.get("page"), payload.get("nbPages"))
        state_out: dict[str, Any] = {}
        if newest is not None:
            mark = min(newest, int(started.timestamp()))
            state_out = {"watermark": mark, "seen": seen.dump(limit=self.seen_limit, floor=mark - overlap - 1)}
        return StreamOutcome(mentions, state_out, rejects, pages, pager.capped and watermark is not None)

