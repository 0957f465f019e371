"""Reddit: site search (``sort=new``) plus new-post and new-comment listings of subreddits.

Settings: ``query`` terms (searched with ``/search?sort=new&type=link``, and matched locally,
case-insensitively on word boundaries, against ``/r/<subs>/new`` and ``/r/<subs>/comments`` when
``subreddits`` is set); ``base_url`` default ``https://oauth.reddit.com``. Auth: ``token_env``
names a bearer token, or ``options.client_id_env`` + ``options.client_secret_env`` get an
application-only token (``client_credentials``) from ``options.token_url`` (default
``https://www.reddit.com/api/v1/access_token``), cached until it expires. ``options.user_agent``
overrides the descriptive User-Agent Reddit requires.

Cursor per stream: ``{"watermark": "<max created_utc>", "seen": {fullname: created_utc}}``. A poll
reads the newest page, drops fullnames already seen and items older than ``watermark - overlap``
(6 h for search, whose results arrive late; 1 h for listings), and pages older with ``after`` only
while every child on the page is new (the PRAW stream approach, §3). A first run takes one page.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from .base import Mention, Reject
from .context import ContextResult, post_of
from .errors import PayloadError
from .html import collapse_whitespace, html_to_text
from .normalize import (
    ItemError,
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

__all__ = ["parse_listing", "child_to_mention", "matches_terms", "RedditConnector"]

_DELETED = {"[deleted]", "[removed]"}


def child_to_mention(child: dict[str, Any], *, source: str, fetched_at: datetime | None = None) -> Mention | None:
    """One listing child (``t3`` post or ``t1`` comment) → :class:`Mention`; other kinds (``more``,
    subreddits, users ...) → None. A post may lack its title and a comment its markdown ``body``
    (``body_html`` stands in); a missing or broken ``created_utc`` gives way to ``created``, then
    the fetch time, noted in ``provenance``."""
    kind = require(child, "kind")
    if kind not in ("t1", "t3"):
        return None
    data = require(child, "data")
    name = str(require(data, "name"))
    if kind == "t3":
        body = str(data.get("selftext") or "") or html_to_text(data.get("selftext_html"))
        title = collapse_whitespace(str(data.get("title") or ""))
        text = "\n".join(part for part in (title, "" if body in _DELETED else body) if part)
    else:
        body = str(data.get("body") or "") or html_to_text(data.get("body_html"))
        text = body
    provenance: dict[str, str] = {}
    created_at = pick_created_at([("created_utc", data.get("created_utc")), ("created", data.get("created"))],
                                 fetched_at, provenance)
    crosspost = data.get("crosspost_parent")
    edited = data.get("edited")
    author = data.get("author")
    return Mention(
        source=source,
        platform="reddit",
        external_id=name,
        text=require_text(collapse_whitespace(text)),
        url=_url(kind, data),
        author_handle=author,
        author_name=author,
        created_at=created_at,
        reply_to_id=data.get("parent_id") if kind == "t1" else None,
        thread_id=data.get("link_id") if kind == "t1" else name,
        metrics={
            key: data[key] for key in ("score", "ups", "upvote_ratio", "num_comments") if key in data
        } | {"subreddit": data.get("subreddit")},
        is_repost=bool(crosspost),
        original_external_id=str(crosspost) if crosspost else None,
        edited_at=lenient_datetime(edited)[0] if edited not in (None, False, True) else None,
        deleted=author == "[deleted]" or body in _DELETED,
        raw=child,
        provenance=provenance,
    )


def _url(kind: str, data: dict[str, Any]) -> str | None:
    """``permalink``, else (older comments have none) the URL built from the post id (``link_id``
    for a comment, the item's own ``id`` for a post) and the comment ``id``."""
    permalink = data.get("permalink")
    if isinstance(permalink, str) and permalink.startswith("/"):
        return f"https://www.reddit.com{permalink}"
    own = str(data.get("id") or str(data.get("name") or "").removeprefix(f"{kind}_"))
    post = own if kind == "t3" else str(data.get("link_id") or "").removeprefix("t3_")
    if not post or not own:
        return None
    sub = data.get("subreddit")
    prefix = f"https://www.reddit.com/r/{sub}" if isinstance(sub, str) and sub else "https://www.reddit.com"
    return f"{prefix}/comments/{post}/" if kind == "t3" else f"{prefix}/comments/{post}/_/{own}/"


def _listing(payload: Any) -> tuple[list[Any], str | None]:
    if not isinstance(payload, dict) or payload.get("kind") != "Listing" or not isinstance(payload.get("data"), dict):
        raise PayloadError("expected a Listing")
    children = payload["data"].get("children")
    if not isinstance(children, list):
        raise PayloadError("Listing has no children list")
    return children, payload["data"].get("after")


def parse_listing(payload: Any, *, source: str) -> tuple[list[Mention], list[Reject]]:
    """A ``Listing`` → (mentions, rejects)."""
    children, _ = _listing(payload)
    return parse_items(children, source, lambda c: child_to_mention(c, source=source))


def matches_terms(text: str, terms: list[str]) -> bool:
    """Local brand matching for listings: any term, case-insensitive, on word boundaries."""
    for term in terms:
        needle = term.lstrip("#").strip('"')
        if needle and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text, re.IGNORECASE):
            return True
    return False


@dataclass(frozen=True, slots=True)
class RedditStream(Stream):
    path: str = ""
    query: str | None = None
    local_match: bool = False


class RedditConnector(PollingConnector[RedditStream]):
    """Polls search and subreddit listings with a seen set and a ``created_utc`` watermark."""

    type = "reddit"
    default_page_size = 100
    max_page_size = 100
    default_overlap = timedelta(hours=6)
    listing_overlap = timedelta(hours=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token: str | None = self.env_secret(self.settings.token_env)
        self._token_expires: datetime | None = None

    def streams(self) -> list[RedditStream]:
        streams = [
            RedditStream(key=f"search:{term}", label=f"search:{term}", path="/search", query=term)
            for term in self.settings.query
        ]
        if self.settings.subreddits:
            subs = "+".join(self.settings.subreddits)
            for listing in ("new", "comments"):
                streams.append(RedditStream(
                    key=f"{listing}:{subs}", label=f"r/{subs}/{listing}", path=f"/r/{subs}/{listing}",
                    local_match=True,
                ))
        return streams

    async def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": str(self.settings.options.get("user_agent", "social-inbox:connectors:0.1"))}
        options = self.settings.options
        client_id = self.env_secret(options.get("client_id_env"))
        secret = self.env_secret(options.get("client_secret_env"))
        now = self.http.now()
        if client_id and secret and (self._token is None or (self._token_expires and now >= self._token_expires)):
            auth = aiohttp.BasicAuth(client_id, secret).encode()
            response = await self.http.request(
                "POST", str(options.get("token_url", "https://www.reddit.com/api/v1/access_token")),
                data={"grant_type": "client_credentials"}, headers={**headers, "Authorization": auth},
            )
            body = response.json()
            self._token = body.get("access_token")
            self._token_expires = now + timedelta(seconds=float(body.get("expires_in", 3600)) - 60)
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    context_batch = 100  # /api/info takes up to 100 fullnames

    async def fetch_context(self, ids: Sequence[str]) -> ContextResult:
        """``/api/info?id=t1_…,t3_…``; a fullname left out, deleted or removed is missing."""
        out = ContextResult()
        names = [i for i in ids if re.fullmatch(r"t[13]_[0-9a-z]+", i)]
        out.missing.update(i for i in ids if i not in names)
        if names:
            payload, _ = await self.http.get_json(f"{self.settings.base()}/api/info", headers=await self._headers(),
                                                  params={"id": ",".join(names), "raw_json": "1"})
            children, _ = _listing(payload)
            found, _ = parse_items(children, self.name, lambda c: child_to_mention(c, source=self.name))
            out.posts = {m.external_id: post_of(m.external_id, m) for m in found
                         if m.external_id in names and not m.deleted}
            out.missing.update(n for n in names if n not in out.posts)
        return out

    async def poll_stream(self, stream: RedditStream, state: dict[str, Any], started: datetime) -> StreamOutcome:
        watermark = parse_datetime(state.get("watermark"))
        seen = SeenSet(state.get("seen"))
        overlap = self.overlap if stream.query else (self.settings.overlap or self.listing_overlap)
        floor = watermark - overlap if watermark else None
        params = {"limit": str(self.page_size), "raw_json": "1"}
        if stream.query:
            params.update({"q": stream.query, "sort": "new", "type": "link"})
        pager = TokenPaginator("after", max_pages=1 if watermark is None else self.max_pages)
        headers = await self._headers()
        mentions: list[Mention] = []
        rejects: list[Reject] = []
        newest = watermark
        pages = 0
        while not pager.done:
            payload, _ = await self.http.get_json(
                f"{self.settings.base()}{stream.path}", params={**params, **pager.params()}, headers=headers,
            )
            pages += 1
            children, after = _listing(payload)
            all_new = bool(children)
            for position, child in enumerate(children):
                try:
                    mention = child_to_mention(child, source=self.name, fetched_at=started)
                except (ItemError, KeyError, TypeError, ValueError) as exc:
                    rejects.append(Reject(self.name, str(exc), dump_raw(child), position, item_key(child)))
                    continue
                if mention is None:
                    continue
                created = mention.created_at or started
                if mention.external_id in seen or (floor is not None and created < floor):
                    all_new = False
                    continue
                seen.add(mention.external_id, created.timestamp())
                newest = created if newest is None or created > newest else newest
                if stream.local_match and not matches_terms(mention.text, list(self.settings.query)):
                    continue
                mentions.append(mention)
            if not all_new:
                break
            pager.advance(after)
        new_mark = clamp(newest, started) if newest else None
        state_out: dict[str, Any] = {}
        if new_mark is not None:
            state_out = {
                "watermark": to_iso(new_mark),
                "seen": seen.dump(limit=self.seen_limit, floor=(new_mark - overlap - timedelta(hours=1)).timestamp()),
            }
        return StreamOutcome(mentions, state_out, rejects, pages, pager.capped and watermark is not None)
