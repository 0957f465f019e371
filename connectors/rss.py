"""RSS 2.0 and Atom feeds (news sites, blogs, Google Alerts "deliver to RSS").

Settings: ``feeds`` (URLs). Bytes are fetched by :class:`~connectors.http.HttpClient` (SSRF guard,
size cap, retries) and only then handed to feedparser as a stream, so feedparser never opens a
URL itself. Feed URLs are kept out of logs and error messages (an Alerts URL is a secret).

Per feed cursor (keyed by a hash of the URL)::

    {"etag": ..., "last_modified": ..., "fresh_until": iso, "seen": {identity: last_seen_epoch},
     "rejected": "<hash of the last malformed body>"}

Conditional GET with ``If-None-Match``/``If-Modified-Since`` (304 = nothing new);
``Cache-Control: max-age`` and ``<ttl>`` postpone the next fetch (at most a day). Identity is
guid/id, then link, then a hash of title+link+date; Google Alerts redirect links are unwrapped to
the article URL, which is deduplicated too. A malformed feed becomes one :class:`Reject` (not
repeated while the same body keeps coming), never a crash.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import xml.sax
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser  # type: ignore[import-untyped]  # feedparser ships no type hints

from .base import Mention, Reject
from .html import collapse_whitespace, html_to_text
from .normalize import ItemError, dump_raw, parse_datetime, require_text, to_iso
from .polling import PollingConnector, SeenSet, Stream, StreamOutcome

__all__ = ["parse_feed", "unwrap_google_redirect", "entry_identity", "RssConnector"]

_MAX_FRESH = timedelta(days=1)
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)")


def unwrap_google_redirect(link: str) -> str:
    """``https://www.google.com/url?...&url=<target>&...`` → ``<target>``; other links unchanged."""
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    if parts.path == "/url" and (host == "google.com" or host.startswith("www.google.") or host.startswith("google.")):
        query = parse_qs(parts.query)
        for key in ("url", "q"):
            target = query.get(key, [""])[0]
            if target.startswith(("http://", "https://")):
                return target
    return link


_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|&[a-zA-Z]+;|&#x?[0-9a-fA-F]+;")


def _text(value: str | None, detail: dict[str, Any] | None) -> str:
    """Feed text: HTML when the feed says so or when it plainly contains markup."""
    if not value:
        return ""
    if (detail and "html" in str(detail.get("type", ""))) or _TAG.search(value):
        return html_to_text(value)
    return collapse_whitespace(value)


def entry_identity(entry: dict[str, Any]) -> str:
    """guid/id, else the (unwrapped) link, else a hash of title + link + date."""
    if entry.get("id"):
        return str(entry["id"])
    link = entry.get("link")
    if link:
        return unwrap_google_redirect(str(link))
    basis = "|".join(str(dict.get(entry, k) or "") for k in ("title", "link", "published", "updated"))
    if basis == "|||":
        raise ItemError("entry has no id, link, title or date")
    return "sha256:" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def _entry_to_mention(
    entry: dict[str, Any], *, source: str, feed_language: str | None, feed_author: str | None = None
) -> Mention:
    identity = entry_identity(entry)
    link = unwrap_google_redirect(str(entry["link"])) if entry.get("link") else None
    title = _text(entry.get("title"), entry.get("title_detail"))
    if entry.get("summary"):
        body = _text(entry.get("summary"), entry.get("summary_detail"))
    elif entry.get("content"):
        first = entry["content"][0]
        body = _text(first.get("value"), first)
    else:
        body = ""
    text = title if not body or body == title else f"{title}\n{body}" if title else body
    # dict.get: feedparser's own get() maps a missing 'updated' to 'published' with a warning
    published = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    updated = dict.get(entry, "updated_parsed")
    created_at = parse_datetime(published)
    updated_at = parse_datetime(updated)
    detail = entry.get("title_detail") or {}
    return Mention(
        source=source,
        platform="rss",
        external_id=identity,
        text=require_text(text),
        url=link,
        author_handle=entry.get("author") or feed_author or None,
        author_name=entry.get("author") or feed_author or None,
        language=detail.get("language") or feed_language or None,
        created_at=created_at,
        edited_at=updated_at if updated_at and created_at and updated_at > created_at else None,
        raw=_json_safe(entry),
    )


def _json_safe(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as feedparser read it, minus ``*_parsed`` time tuples, as plain JSON types."""
    plain = {key: value for key, value in entry.items() if not key.endswith("_parsed")}
    result: dict[str, Any] = json.loads(json.dumps(plain, default=str))
    return result


def parse_feed(
    body: bytes, *, source: str, content_type: str = "application/xml", base_url: str | None = None
) -> tuple[list[Mention], list[Reject]]:
    """Feed bytes → (mentions, rejects). A body that is not a well-formed feed is one reject."""
    headers = {"content-type": content_type or "application/xml"}
    if base_url:
        headers["content-location"] = base_url
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, xml.sax.SAXException) or (not parsed.entries and not parsed.get("version")):
        reason = f"malformed feed: {problem}" if problem else "not an RSS or Atom feed"
        return [], [Reject(source=source, reason=reason, raw=dump_raw(body[:100_000]))]
    feed_language = parsed.feed.get("language")
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for position, entry in enumerate(parsed.entries):
        try:
            mentions.append(_entry_to_mention(entry, source=source, feed_language=feed_language,
                                              feed_author=parsed.feed.get("author") or None))
        except (ItemError, KeyError, TypeError, ValueError) as exc:
            rejects.append(Reject(source=source, reason=str(exc), raw=dump_raw(dict(entry)), position=position))
    return mentions, rejects


def _fresh_for(headers: Any, body: bytes) -> timedelta:
    seconds = 0
    match = _MAX_AGE.search(headers.get("Cache-Control", "") or "")
    if match:
        seconds = int(match.group(1))
    ttl = re.search(rb"<ttl>\s*(\d+)\s*</ttl>", body[:20_000])
    if ttl:
        seconds = max(seconds, int(ttl.group(1)) * 60)
    return min(timedelta(seconds=seconds), _MAX_FRESH)


@dataclass(frozen=True, slots=True)
class FeedStream(Stream):
    url: str = ""


class RssConnector(PollingConnector[FeedStream]):
    """Fetches each feed with conditional GET and returns the entries not seen before."""

    type = "rss"
    seen_limit = 500
    redact_urls = True

    def streams(self) -> list[FeedStream]:
        return [
            FeedStream(
                key=hashlib.sha256(url.encode()).hexdigest()[:16],
                label=f"feed{index}:{urlsplit(url).hostname}", url=url,
            )
            for index, url in enumerate(self.settings.feeds)
        ]

    async def poll_stream(self, stream: FeedStream, state: dict[str, Any], started: datetime) -> StreamOutcome:
        fresh_until = parse_datetime(state.get("fresh_until"))
        if fresh_until is not None and started < fresh_until:
            return StreamOutcome([], state, pages=0)
        headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5"}
        if state.get("etag"):
            headers["If-None-Match"] = str(state["etag"])
        if state.get("last_modified"):
            headers["If-Modified-Since"] = str(state["last_modified"])
        response = await self.http.request("GET", stream.url, headers=headers)
        new_state = dict(state)
        fresh = _fresh_for(response.headers, response.body)
        if fresh:
            new_state["fresh_until"] = to_iso(started + fresh)
        else:
            new_state.pop("fresh_until", None)
        if response.status == 304:
            return StreamOutcome([], new_state, pages=1)
        for header, key in (("ETag", "etag"), ("Last-Modified", "last_modified")):
            if response.headers.get(header):
                new_state[key] = response.headers[header]
            else:
                new_state.pop(key, None)
        parsed, rejects = parse_feed(
            response.body, source=self.name, content_type=response.headers.get("Content-Type", ""),
            base_url=stream.url,
        )
        body_hash = hashlib.sha256(response.body).hexdigest()[:16]
        if not parsed and rejects and len(rejects) == 1 and rejects[0].position is None:
            if state.get("rejected") == body_hash:
                rejects = []
            new_state["rejected"] = body_hash
            self.log.warning("rss.malformed_feed", stream=stream.label)
            return StreamOutcome([], new_state, rejects, pages=1)
        new_state.pop("rejected", None)
        seen = SeenSet(state.get("seen"))
        now = started.timestamp()
        mentions: list[Mention] = []
        for mention in parsed:
            wrapped = mention.url is not None and mention.raw.get("link") != mention.url
            keys = [mention.external_id] + ([f"url:{mention.url}"] if wrapped else [])
            known = any(key in seen for key in keys)
            for key in keys:
                seen.add(key, now)
            if not known:
                mentions.append(mention)
        new_state["seen"] = seen.dump(limit=self.seen_limit)
        return StreamOutcome(mentions, new_state, rejects, pages=1)
