"""RSS 2.0 and Atom feeds (news sites, blogs, Google Alerts "deliver to RSS").

Settings: ``feeds`` (URLs). Bytes are fetched by :class:`~connectors.http.HttpClient` (SSRF guard,
size cap, retries) and only then handed to feedparser as a stream, so feedparser never opens a
URL itself. Feed URLs are kept out of logs and error messages (an Alerts URL is a secret).

Per feed cursor (keyed by a hash of the URL)::

    {"etag": ..., "last_modified": ..., "fresh_until": iso, "seen": {identity: last_seen_epoch},
     "rejected": "<hash of the last malformed body>"}

Conditional GET with ``If-None-Match``/``If-Modified-Since`` (304 = nothing new);
``Cache-Control: max-age`` and ``<ttl>`` postpone the next fetch (at most a day). Identity is
guid/id, then link, then a hash of title+link+date, then (an RSS 2.0 item may be a description
alone) a hash of the content; Google Alerts redirect links are unwrapped to the article URL, which
is deduplicated too. The seen set holds at least twice the feed's length.

Real feeds are often not well-formed (a newline or a comment before the XML declaration, an HTML
entity XML does not define, a tag left open, a truncated download). feedparser's lenient parser
recovers their entries: they are kept, and the source gets a ``lenient_parse`` warning naming the
problem. Only a body from which nothing can be read becomes one :class:`Reject` (remembered by
the body's digest, so not repeated while the same body keeps coming), never a crash. Charsets:
:mod:`connectors.charsets`; a feed decoded by a detected charset, or with doubt, says so in each of its
mentions' ``provenance["encoding"]``. Dates: published, updated or created, in any language, else the fetch
time (:func:`connectors.normalize.pick_created_at`).
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import xml.sax
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser  # type: ignore[import-untyped]  # feedparser ships no type hints

from .base import Mention, Reject, SourceWarning
from .charsets import CUT_CHARACTER, Decoded, to_utf8
from .html import collapse_whitespace, html_to_text
from .normalize import (
    ItemError,
    dump_raw,
    item_key,
    lenient_datetime,
    parse_datetime,
    pick_created_at,
    require_text,
    to_iso,
)
from .polling import PollingConnector, SeenSet, Stream, StreamOutcome

__all__ = ["parse_feed", "read_feed", "FeedRead", "unwrap_google_redirect", "entry_identity", "RssConnector"]

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


def _body(entry: dict[str, Any]) -> str:
    """``summary`` (RSS description, Atom summary, itunes:summary), else ``content``, else the
    ``subtitle`` (itunes:subtitle: a podcast episode may say nothing else)."""
    if entry.get("summary"):
        return _text(entry.get("summary"), entry.get("summary_detail"))
    if entry.get("content"):
        first = entry["content"][0]
        return _text(first.get("value"), first)
    if entry.get("subtitle"):
        return _text(entry.get("subtitle"), entry.get("subtitle_detail"))
    return ""


def entry_identity(entry: dict[str, Any]) -> str:
    """guid/id, else the (unwrapped) link, else a hash of title + date, else a hash of the content
    (its text and enclosures): an item that says anything has an identity. A date alone does not
    tell items apart (a feed may stamp every item with the same day), so an item without id, link
    or title is known by its content."""
    if entry.get("id"):
        return str(entry["id"])
    link = entry.get("link")
    if link:
        return unwrap_google_redirect(str(link))
    basis = "|".join(str(dict.get(entry, k) or "") for k in ("title", "link", "published", "updated"))
    if not dict.get(entry, "title"):
        enclosures = [str(e.get("href") or "") for e in entry.get("enclosures") or [] if isinstance(e, dict)]
        content = "\n".join([_body(entry), *enclosures]).strip()
        if not content:
            raise ItemError("entry has no id, link, title, date or content")
        return "sha256:content:" + hashlib.sha256(content.encode()).hexdigest()[:32]
    return "sha256:" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def _date_candidates(entry: dict[str, Any]) -> list[tuple[str, Any]]:
    # dict.get: feedparser's own get() maps a missing 'updated' to 'published' with a warning;
    # the *_parsed tuple when feedparser read the date plausibly, else its text (localized
    # names, an epoch feedparser reads as the year 1763 ...)
    candidates = []
    for name in ("published", "updated", "created"):
        parsed = dict.get(entry, f"{name}_parsed")
        if parsed and lenient_datetime(parsed)[0] is None and dict.get(entry, name):
            parsed = None
        candidates.append((name, parsed or dict.get(entry, name)))
    return candidates


def _web_link(entry: dict[str, Any]) -> str | None:
    """The entry's link when it is one a person can open (an Atom id such as ``urn:...`` or
    ``tag:...`` that feedparser offers as the link is not)."""
    link = str(entry.get("link") or "")
    return unwrap_google_redirect(link) if link.lower().startswith(("http://", "https://")) else None


def _entry_to_mention(
    entry: dict[str, Any], *, source: str, feed_language: str | None, feed_author: str | None = None,
    fetched_at: datetime | None = None,
) -> Mention:
    identity = entry_identity(entry)
    link = _web_link(entry)
    title = _text(entry.get("title"), entry.get("title_detail"))
    body = _body(entry)
    text = title if not body or body == title else f"{title}\n{body}" if title else body
    provenance: dict[str, str] = {}
    candidates = _date_candidates(entry)
    created_at = pick_created_at(candidates, fetched_at, provenance)
    updated_at = lenient_datetime(candidates[1][1])[0] if candidates[1][1] else None
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
        provenance=provenance,
    )


def _json_safe(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as feedparser read it, minus ``*_parsed`` time tuples, as plain JSON types."""
    plain = {key: value for key, value in entry.items() if not key.endswith("_parsed")}
    result: dict[str, Any] = json.loads(json.dumps(plain, default=str))
    return result


@dataclass(slots=True)
class FeedRead:
    """What one feed body gave: its new-or-not mentions, its rejects, warnings for the source,
    and how many entries it had (``entries``, rejected ones included)."""

    mentions: list[Mention] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[SourceWarning] = field(default_factory=list)
    entries: int = 0


def _problem(exc: BaseException) -> str:
    message = str(exc).removeprefix("<unknown>:")
    return f"{type(exc).__name__}: {message}"[:300]


def read_feed(
    body: bytes, *, source: str, content_type: str = "application/xml", base_url: str | None = None,
    fetched_at: datetime | None = None,
) -> FeedRead:
    """Feed bytes → :class:`FeedRead` (see the module docstring for what is kept and warned)."""
    decoded = to_utf8(body, content_type or "application/xml")
    out = FeedRead(warnings=[SourceWarning("encoding", w) for w in decoded.warnings])
    headers = {"content-type": decoded.content_type}
    if base_url:
        headers["content-location"] = base_url
    parsed = feedparser.parse(io.BytesIO(decoded.body), response_headers=headers)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    malformed = isinstance(problem, xml.sax.SAXException)
    digest = hashlib.sha256(body).hexdigest()[:32]
    if not parsed.entries and (malformed or not parsed.get("version")):
        reason = f"malformed feed: {_problem(problem)}" if malformed and problem else "not an RSS or Atom feed"
        out.rejects.append(Reject(source=source, reason=reason, raw=dump_raw(body[:100_000]), key=f"body:{digest}"))
        return out
    feed_language = parsed.feed.get("language")
    out.entries = len(parsed.entries)
    unreadable: list[str] = []
    for position, entry in enumerate(parsed.entries):
        try:
            out.mentions.append(_entry_to_mention(entry, source=source, feed_language=feed_language,
                                                  feed_author=parsed.feed.get("author") or None, fetched_at=fetched_at))
        except (ItemError, KeyError, TypeError, ValueError) as exc:
            if malformed:  # what the recovery lost is in the body, not in the entry: dead-letter the body
                unreadable.append(str(exc))
                continue
            out.rejects.append(Reject(source=source, reason=str(exc), raw=dump_raw(dict(entry)), position=position,
                                      key=item_key(dict(entry))))
    _tell_apart(out)
    if malformed and problem is not None:
        out.warnings.append(SourceWarning("lenient_parse", f"feed is not well-formed ({_problem(problem)}); kept the "
                                                           f"{len(out.mentions)} entries the lenient parser recovered"))
        # items the recovery never saw (everything after an unclosed CDATA section ...) are in the body
        missed = len(_ITEM_START.findall(decoded.body)) - len(parsed.entries)
        lost = [f"{len(unreadable)} could not be read ({unreadable[0]})"] if unreadable else []
        lost += [f"{missed} of the body's items were not recovered"] if missed > 0 else []
        if lost:
            out.rejects.append(Reject(
                source=source, raw=dump_raw(body[:100_000]), key=f"body:{digest}",
                reason=f"malformed feed: {_problem(problem)}; {len(out.mentions)} entries kept, {'; '.join(lost)}"))
    elif problem is not None:
        out.warnings.append(SourceWarning("encoding", f"feed parser: {_problem(problem)}"))
    decoding = _decoding_note(decoded)
    if decoding:
        for mention in out.mentions:
            mention.provenance["encoding"] = decoding
    return out


_ITEM_START = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?(?:item|entry)[\s/>]")


def _tell_apart(read: FeedRead) -> None:
    """Items of one document that share an identity (a guid or link reused for every item, the
    site's home page as every link) are different items when their texts differ: each of them is
    keyed by its content as well (all of them, so the keys do not depend on the items' order when
    a new one arrives), and the source is told. A repeat with the same text is one item."""
    texts: dict[str, set[str]] = {}
    for mention in read.mentions:
        texts.setdefault(mention.external_id, set()).add(mention.text)
    kept: list[Mention] = []
    done: set[tuple[str, str]] = set()
    shared = 0
    for mention in read.mentions:
        if (mention.external_id, mention.text) in done:
            continue
        done.add((mention.external_id, mention.text))
        if len(texts[mention.external_id]) > 1:
            digest = hashlib.sha256(mention.text.encode()).hexdigest()[:32]
            mention.external_id = f"{mention.external_id}#sha256:content:{digest}"
            mention.provenance["external_id"] = "the feed gives this identity to other items too; content added"
            shared += 1
        kept.append(mention)
    read.mentions = kept
    if shared:
        read.warnings.append(SourceWarning(
            "identity", f"{shared} items share their id, link or title with other items of the feed; "
                        f"told apart by their content"))


def _decoding_note(decoded: Decoded) -> str | None:
    """How the feed's text was decoded when it was not by the charset it declared (or UTF-8), for
    each mention's ``provenance["encoding"]``: the reader of one item sees that its text is a guess."""
    notes = [w for w in decoded.warnings if w != CUT_CHARACTER]
    if decoded.detected and not notes:
        notes = [f"charset detected as {decoded.detected} (none declared)"]
    return "; ".join(notes) or None


def parse_feed(
    body: bytes, *, source: str, content_type: str = "application/xml", base_url: str | None = None
) -> tuple[list[Mention], list[Reject]]:
    """Feed bytes → (mentions, rejects); :func:`read_feed` also gives the warnings."""
    got = read_feed(body, source=source, content_type=content_type, base_url=base_url)
    return got.mentions, got.rejects


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
        got = read_feed(
            response.body, source=self.name, content_type=response.headers.get("Content-Type", ""),
            base_url=stream.url, fetched_at=started,
        )
        if got.rejects and not got.entries:
            self.log.warning("rss.malformed_feed", stream=stream.label)
        seen = SeenSet(state.get("seen"))
        now = started.timestamp()
        mentions: list[Mention] = []
        for mention in got.mentions:
            wrapped = mention.url is not None and mention.raw.get("link") != mention.url
            keys = [mention.external_id] + ([f"url:{mention.url}"] if wrapped else [])
            known = any(key in seen for key in keys)
            for key in keys:
                seen.add(key, now)
            if not known:
                mentions.append(mention)
        # the whole feed fits: a window smaller than the feed forgets its oldest entries every poll
        new_state["seen"] = seen.dump(limit=max(self.seen_limit, 2 * (got.entries + 1)), by_insertion=True)
        new_state.pop("rejected", None)  # the body digest of older cursors: rejects are remembered by the poll loop
        return StreamOutcome(mentions, new_state, got.rejects, pages=1, warnings=got.warnings, read=len(got.mentions))
