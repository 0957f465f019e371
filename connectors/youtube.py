"""YouTube Data API v3: comment threads that mention the brand, optionally video search.

Settings: ``query`` terms (sent as ``searchTerms``), ``video_ids`` and/or ``channel_id``
(``allThreadsRelatedToChannelId``); ``token_env`` names the API key (sent as ``key``);
``options.search_videos = true`` also polls ``search.list?type=video&order=date`` per term (100
quota units a call). Without videos or a channel, video search is used.

Cursor per stream: ``{"watermark": "<max publishedAt>", "seen": {id: epoch}}``. Comments come
newest first (``order=time``); a poll pages with ``pageToken`` (never stored) until a thread is
older than ``watermark - overlap``. Video search sends ``publishedAfter``. ``quotaExceeded``
stops every call until midnight Pacific (:class:`RateLimited`, not retried);
``commentsDisabled`` fails only that video's stream; ``rateLimitExceeded`` is retried.
"""
from __future__ import annotations

import html as htmllib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .base import Mention, Reject
from .context import ContextPost, ContextResult, post_of
from .errors import ConnectorError, PayloadError, PermanentError, RateLimited
from .html import collapse_whitespace, html_to_text
from .http import HttpResponse
from .normalize import (
    dump_raw,
    item_key,
    lenient_datetime,
    parse_datetime,
    parse_items,
    pick_created_at,
    require,
    require_text,
    to_iso,
)
from .paging import TokenPaginator
from .polling import PollingConnector, SeenSet, Stream, StreamOutcome, clamp

__all__ = ["parse_comment_threads", "parse_video_search", "comment_to_mention", "YouTubeConnector"]

_PACIFIC = ZoneInfo("America/Los_Angeles")


def comment_to_mention(comment: dict[str, Any], *, source: str, thread: dict[str, Any] | None = None) -> Mention:
    """One ``comment`` resource (top-level or reply) → :class:`Mention`."""
    comment_id = str(require(comment, "id"))
    snippet = require(comment, "snippet")
    video_id = snippet.get("videoId") or ((thread or {}).get("snippet") or {}).get("videoId")
    text = html_to_text(snippet.get("textDisplay")) or collapse_whitespace(str(snippet.get("textOriginal") or ""))
    provenance: dict[str, str] = {}
    published = pick_created_at([("publishedAt", snippet.get("publishedAt")), ("updatedAt", snippet.get("updatedAt"))],
                                None, provenance)
    updated = lenient_datetime(snippet.get("updatedAt"))[0]
    thread_snippet = (thread or {}).get("snippet") or {}
    channel = snippet.get("channelId") or thread_snippet.get("channelId")
    if video_id:
        url: str | None = f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}"
    else:  # a comment on a channel's discussion tab
        url = f"https://www.youtube.com/channel/{channel}?lc={comment_id}" if channel else None
    return Mention(
        source=source,
        platform="youtube",
        external_id=comment_id,
        text=require_text(text),
        url=url,
        author_handle=snippet.get("authorDisplayName"),
        author_name=snippet.get("authorDisplayName"),
        created_at=published,
        reply_to_id=snippet.get("parentId"),
        thread_id=str(thread["id"]) if thread and thread.get("id") else comment_id,
        metrics={"likes": snippet.get("likeCount")}
        | (
            {"replies": thread_snippet["totalReplyCount"]}
            if "totalReplyCount" in thread_snippet and not snippet.get("parentId")
            else {}
        ),
        edited_at=updated if updated and published and updated > published else None,
        raw=comment,
        provenance=provenance,
    )


def _thread_mentions(thread: dict[str, Any], source: str) -> list[Mention]:
    top = require(require(thread, "snippet"), "topLevelComment")
    found = [comment_to_mention(top, source=source, thread=thread)]
    for reply in ((thread.get("replies") or {}).get("comments") or []):
        found.append(comment_to_mention(reply, source=source, thread=thread))
    return found


def _items(payload: Any) -> list[Any]:
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise PayloadError("expected a YouTube list response with 'items'")
    return items


def parse_comment_threads(payload: Any, *, source: str) -> tuple[list[Mention], list[Reject]]:
    """A ``commentThreads.list`` response → (mentions, rejects); embedded replies included."""
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for position, thread in enumerate(_items(payload)):
        try:
            mentions.extend(_thread_mentions(thread, source))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            rejects.append(Reject(source, str(exc), dump_raw(thread), position, item_key(thread)))
    return mentions, rejects


def video_to_mention(item: dict[str, Any], *, source: str) -> Mention | None:
    """One ``search.list`` result of kind video → :class:`Mention`; a channel or playlist result
    (search can return them whatever ``type`` asks for) → None: it is not a post, so skipped."""
    kind = require(item, "id").get("kind") if isinstance(item.get("id"), dict) else None
    if kind is not None and kind != "youtube#video":
        return None
    video_id = str(require(require(item, "id"), "videoId"))
    snippet = require(item, "snippet")
    provenance: dict[str, str] = {}
    title = htmllib.unescape(str(snippet.get("title") or ""))
    description = htmllib.unescape(str(snippet.get("description") or ""))
    return Mention(
        source=source,
        platform="youtube",
        external_id=video_id,
        text=require_text("\n".join(p for p in (title, description) if p)),
        url=f"https://www.youtube.com/watch?v={video_id}",
        author_handle=snippet.get("channelTitle"),
        author_name=snippet.get("channelTitle"),
        created_at=pick_created_at([("publishedAt", snippet.get("publishedAt"))], None, provenance),
        thread_id=video_id,
        raw=item,
        provenance=provenance,
    )


def video_post(item: dict[str, Any]) -> ContextPost:
    """One ``videos.list`` resource → :class:`ContextPost` (title and description)."""
    video_id = str(require(item, "id"))
    snippet = require(item, "snippet")
    text = "\n".join(p for p in (str(snippet.get("title") or ""), str(snippet.get("description") or "")) if p)
    return ContextPost(key=video_id, text=require_text(collapse_whitespace(htmllib.unescape(text))),
                       url=f"https://www.youtube.com/watch?v={video_id}", author_handle=snippet.get("channelTitle"),
                       author_name=snippet.get("channelTitle"), created_at=parse_datetime(snippet.get("publishedAt")))


_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")


def parse_video_search(payload: Any, *, source: str) -> tuple[list[Mention], list[Reject]]:
    """A ``search.list?type=video`` response → (mentions, rejects)."""
    return parse_items(_items(payload), source, lambda i: video_to_mention(i, source=source))


def _next_pacific_midnight(now: datetime) -> datetime:
    local = now.astimezone(_PACIFIC)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(now.tzinfo)


def _reason(response: HttpResponse) -> str:
    try:
        body = response.json()
    except PayloadError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("reason", ""))
    return ""


@dataclass(frozen=True, slots=True)
class YouTubeStream(Stream):
    term: str = ""
    kind: str = "comments"  # comments | videos


class YouTubeConnector(PollingConnector[YouTubeStream]):
    """Polls comment threads (per video/channel and term) and optionally video search."""

    type = "youtube"
    default_page_size = 100
    max_page_size = 100
    default_overlap = timedelta(minutes=10)

    def _classify(self, response: HttpResponse) -> ConnectorError | str | None:
        if response.status >= 500:
            return None
        reason = _reason(response)
        if reason in ("rateLimitExceeded", "userRateLimitExceeded"):
            return "retry"
        if reason in ("quotaExceeded", "dailyLimitExceeded"):
            return RateLimited("YouTube daily quota exceeded", retry_at=_next_pacific_midnight(self.http.now()))
        if reason:
            return PermanentError(f"YouTube error {reason}")
        return None

    context_batch = 50  # comments.list and videos.list take up to 50 ids

    async def fetch_context(self, ids: Sequence[str]) -> ContextResult:
        """``comments.list`` for comment ids, ``videos.list`` for video ids; an id left out is missing."""
        out = ContextResult()
        key = self.env_secret(self.settings.token_env)
        videos = [i for i in ids if _VIDEO_ID.fullmatch(i)]
        comments = [i for i in ids if i not in videos and re.fullmatch(r"[A-Za-z0-9_.-]+", i)]
        for path, wanted in (("/youtube/v3/comments", comments), ("/youtube/v3/videos", videos)):
            if not wanted:
                continue
            params = {"id": ",".join(wanted), "part": "snippet", **({"key": key} if key else {})}
            if wanted is comments:
                params["textFormat"] = "html"
            payload, _ = await self.http.get_json(f"{self.settings.base()}{path}", params=params,
                                                  classify=self._classify)
            for item in _items(payload):
                try:
                    post = (post_of(str(item["id"]), comment_to_mention(item, source=self.name))
                            if wanted is comments else video_post(item))
                except (ValueError, KeyError, TypeError):
                    continue
                if post.key in wanted:
                    out.posts[post.key] = post
        out.missing.update(i for i in ids if i not in out.posts)
        return out

    def streams(self) -> list[YouTubeStream]:
        s = self.settings
        streams: list[YouTubeStream] = []
        targets = [("videoId", v) for v in s.video_ids] + (
            [("allThreadsRelatedToChannelId", s.channel_id)] if s.channel_id else []
        )
        for term in s.query:
            for param, value in targets:
                streams.append(YouTubeStream(
                    key=f"comments:{value}:{term}", label=f"{value}:{term}", params={param: value}, term=term,
                ))
            if not targets or s.options.get("search_videos"):
                streams.append(YouTubeStream(key=f"videos:{term}", label=f"videos:{term}", term=term, kind="videos"))
        return streams

    async def poll_stream(self, stream: YouTubeStream, state: dict[str, Any], started: datetime) -> StreamOutcome:
        watermark = parse_datetime(state.get("watermark"))
        floor = watermark - self.overlap if watermark else None
        seen = SeenSet(state.get("seen"))
        key = self.env_secret(self.settings.token_env)
        if stream.kind == "videos":
            path = "/youtube/v3/search"
            params = {"part": "snippet", "q": stream.term, "type": "video", "order": "date",
                      "maxResults": str(min(self.page_size, 50))}
            if floor is not None:
                params["publishedAfter"] = to_iso(floor)
        else:
            path = "/youtube/v3/commentThreads"
            params = {"part": "snippet,replies", "searchTerms": stream.term, "order": "time",
                      "textFormat": "html", "maxResults": str(self.page_size), **stream.params}
        if key:
            params["key"] = key
        pager = TokenPaginator("pageToken", max_pages=1 if watermark is None else self.max_pages)
        mentions: list[Mention] = []
        rejects: list[Reject] = []
        newest = watermark
        pages = 0
        while not pager.done:
            payload, _ = await self.http.get_json(
                f"{self.settings.base()}{path}", params={**params, **pager.params()}, classify=self._classify,
            )
            pages += 1
            parse = parse_video_search if stream.kind == "videos" else parse_comment_threads
            page, page_rejects = parse(payload, source=self.name)
            rejects.extend(page_rejects)
            reached_old = False
            for mention in page:
                created = mention.created_at or started
                if floor is not None and created < floor:
                    reached_old = reached_old or mention.reply_to_id is None
                    continue
                if mention.external_id in seen:
                    continue
                seen.add(mention.external_id, created.timestamp())
                mentions.append(mention)
                newest = created if newest is None or created > newest else newest
            if reached_old:
                break
            pager.advance(payload.get("nextPageToken"))
        state_out: dict[str, Any] = {}
        if newest is not None:
            mark = clamp(newest, started)
            state_out = {"watermark": to_iso(mark),
                         "seen": seen.dump(limit=self.seen_limit, floor=(mark - self.overlap).timestamp() - 1)}
        return StreamOutcome(mentions, state_out, rejects, pages, pager.capped and watermark is not None)
