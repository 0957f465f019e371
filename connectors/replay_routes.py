"""Platform endpoints of the replay server: each answers its platform's documented parameters
(search terms, cursors, pages, time filters) over a :class:`~connectors.replay_data.ReplayStore`.

Every function takes the request's query, the store and whether to match search terms, and returns
``(status, payload, headers)``; ``repeat=True`` (a fault) makes paginated answers hand back the
request's own continuation token, as a server stuck on one page would.
"""
from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from multidict import MultiMapping

from .replay_data import ReplayStore, item_text, query_terms

__all__ = ["route"]

Answer = tuple[int, Any, dict[str, str]]
Query = MultiMapping[str]


def _limit(query: Query, name: str, default: int, maximum: int) -> int:
    try:
        return max(1, min(int(query.get(name, default)), maximum))
    except ValueError:
        return default


def _offset(token: str | None, prefix: str = "o") -> int:
    if token and token.startswith(prefix) and token[len(prefix):].isdigit():
        return int(token[len(prefix):])
    if token and token.isdigit():
        return int(token)
    return 0


def _matches(platform: str, item: Any, terms: list[str], match: bool) -> bool:
    if not match or not terms:
        return True
    text = item_text(platform, item)
    return any(term.lstrip("#") in text for term in terms)


def _ts(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp()
    except ValueError:
        return None


# -- Mastodon ---------------------------------------------------------------------------------
def _instance_offset(instance: str | None) -> int:
    if not instance:
        return 0
    return (int(hashlib.sha256(instance.encode()).hexdigest(), 16) % 97 + 1) * 1_000_000


def _localise(status: dict[str, Any], offset: int) -> dict[str, Any]:
    return status if not offset else {**status, "id": str(int(status["id"]) + offset)}


def mastodon(store: ReplayStore, query: Query, match: bool, *, instance: str | None, tag: str | None,
             base: str, repeat: bool) -> Answer:
    offset = _instance_offset(instance)
    terms = [f"#{tag.lower()}"] if tag else query_terms(query.get("q", ""))
    items = store.matching("mastodon", terms if match else [])  # newest first by integer id
    limit = _limit(query, "limit", 20, 40)
    min_id, max_id, since_id = (query.get(k) for k in ("min_id", "max_id", "since_id"))
    if repeat:
        min_id = max_id = since_id = None
    # this instance shows every id plus ``offset``; each bound cuts the newest-first list once
    start = _newer_count(items, int(max_id) - offset - 1) if max_id else 0
    end = _newer_count(items, int(since_id) - offset) if since_id else len(items)
    if min_id:  # the oldest ``limit`` items newer than min_id, oldest first
        end = max(start, min(end, _newer_count(items, int(min_id) - offset)))
        chosen = items[max(start, end - limit):end][::-1]
    else:
        chosen = items[start:max(start, end)][:limit]
    page = [_localise(s, offset) for s in chosen]
    headers: dict[str, str] = {}
    if page:
        ids = sorted(int(s["id"]) for s in page)
        headers["Link"] = f'<{base}?max_id={ids[0]}>; rel="next", <{base}?min_id={ids[-1]}>; rel="prev"'
    if tag:
        return 200, page, headers
    return 200, {"accounts": [], "statuses": page, "hashtags": []}, headers


def _newer_count(items: list[Any], bound: int) -> int:
    """How many leading items of the newest-first list ``items`` have an id above ``bound``."""
    return bisect.bisect_left(items, -bound, key=lambda s: -int(s["id"]))


# -- Bluesky ----------------------------------------------------------------------------------
def bluesky(store: ReplayStore, query: Query, match: bool, *, repeat: bool, auth: str | None,
            require_auth: bool) -> Answer:
    if require_auth and auth == "Bearer access-expired":
        return 400, {"error": "ExpiredToken", "message": "Token has expired"}, {}
    if require_auth and not (auth or "").startswith("Bearer access-"):
        return 401, {"error": "AuthMissing", "message": "Authentication Required"}, {}
    terms = query_terms(query.get("q", ""))
    since, until = _ts(query.get("since")), _ts(query.get("until"))
    items = [
        p for p in store.items["bluesky"]
        if _matches("bluesky", p, terms, match)
        and (since is None or _ts(p.get("indexedAt")) is None or (_ts(p.get("indexedAt")) or 0) >= since)
        and (until is None or (_ts(p.get("indexedAt")) or 0) < until)
    ]
    limit = _limit(query, "limit", 25, 100)
    start = _offset(query.get("cursor"), "")
    page = items[start:start + limit]
    payload: dict[str, Any] = {"posts": page}
    if start + limit < len(items):
        payload["cursor"] = query.get("cursor") if repeat and query.get("cursor") else str(start + limit)
    return 200, payload, {}


def bluesky_session(body: Mapping[str, Any] | None, *, refresh: str | None) -> Answer:
    if refresh is not None:
        if not refresh.startswith("Bearer refresh-"):
            return 400, {"error": "ExpiredToken", "message": "Token has expired"}, {}
        return 200, {"accessJwt": "access-2", "refreshJwt": "refresh-2", "handle": "brand.example"}, {}
    if not body or not body.get("identifier") or not body.get("password"):
        return 401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, {}
    return 200, {"accessJwt": "access-1", "refreshJwt": "refresh-1", "handle": body["identifier"],
                 "did": "did:plc:replay"}, {}


# -- Reddit -----------------------------------------------------------------------------------
def reddit(store: ReplayStore, query: Query, match: bool, *, subs: str | None, listing: str,
           repeat: bool) -> Answer:
    wanted_kind = "t1" if listing == "comments" else "t3"
    subreddits = {s.lower() for s in subs.split("+")} if subs and subs.lower() != "all" else None
    terms = query_terms(query.get("q", "")) if listing == "search" else []
    items = [
        c for c in store.matching("reddit", terms if match else [])
        if c.get("kind") == wanted_kind
        and (subreddits is None or str((c.get("data") or {}).get("subreddit", "")).lower() in subreddits)
    ]
    names = [str(c["data"].get("name")) for c in items]
    limit = _limit(query, "limit", 25, 100)
    after, before = query.get("after"), query.get("before")
    if after:
        start = names.index(after) + 1 if after in names else len(names)
        page = items[start:start + limit]
    elif before:
        end = names.index(before) if before in names else 0
        page = items[max(0, end - limit):end]
        start = max(0, end - limit)
    else:
        start, page = 0, items[:limit]
    next_after = None
    if page and start + len(page) < len(items):
        next_after = after if repeat and after else str(page[-1]["data"]["name"])
    data = {"after": next_after, "before": None, "dist": len(page), "modhash": "", "children": page}
    return 200, {"kind": "Listing", "data": data}, {}


# -- Hacker News ------------------------------------------------------------------------------
_NUMERIC = re.compile(r"created_at_i\s*(>=|>|<=|<|=)\s*(\d+)")


def hackernews(store: ReplayStore, query: Query, match: bool, *, repeat: bool) -> Answer:
    terms = query_terms(query.get("query", ""))
    tags = {t for t in re.split(r"[(),]", query.get("tags", "")) if t}
    checks = _NUMERIC.findall(query.get("numericFilters", ""))

    def keep(hit: Any) -> bool:
        if tags and not tags & set(hit.get("_tags") or []):
            return False
        stamp = int(hit.get("created_at_i") or 0)
        for op, value in checks:
            n = int(value)
            ok = {">=": stamp >= n, ">": stamp > n, "<=": stamp <= n, "<": stamp < n, "=": stamp == n}[op]
            if not ok:
                return False
        return _matches("hackernews", hit, terms, match)

    hits = store.select("hackernews", keep)[:1000]
    per_page = _limit(query, "hitsPerPage", 20, 1000)
    page = _offset(query.get("page", "0"), "")
    nb_pages = math.ceil(len(hits) / per_page)
    payload = {
        "hits": hits[page * per_page:(page + 1) * per_page], "page": max(0, page - 1) if repeat and page else page,
        "nbHits": len(hits), "nbPages": nb_pages, "hitsPerPage": per_page, "query": query.get("query", ""),
        "params": str(query), "processingTimeMS": 1, "exhaustiveNbHits": True,
    }
    return 200, payload, {}


# -- X ----------------------------------------------------------------------------------------
def x(store: ReplayStore, query: Query, match: bool, *, repeat: bool) -> Answer:
    terms = query_terms(query.get("query", ""))
    exclude_rt = "-is:retweet" in query.get("query", "")
    since_id, until_id = query.get("since_id"), query.get("until_id")
    start_time, end_time = _ts(query.get("start_time")), _ts(query.get("end_time"))
    items = [
        t for t in store.items["x"]
        if _matches("x", t, terms, match)
        and not (exclude_rt and str(t.get("text", "")).startswith("RT @"))
        and (not since_id or int(t["id"]) > int(since_id))
        and (not until_id or int(t["id"]) < int(until_id))
        and (start_time is None or (_ts(t.get("created_at")) or 0) >= start_time)
        and (end_time is None or (_ts(t.get("created_at")) or 0) < end_time)
    ]
    limit = _limit(query, "max_results", 10, 100)
    start = _offset(query.get("next_token"), "tok")
    page = items[start:start + limit]
    if not page:
        return 200, {"meta": {"result_count": 0}}, {}
    meta: dict[str, Any] = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
    if start + limit < len(items):
        meta["next_token"] = query["next_token"] if repeat and query.get("next_token") else f"tok{start + limit}"
    authors = {str(t.get("author_id")) for t in page}
    users = [u for uid, u in store.users.items() if uid in authors]
    payload: dict[str, Any] = {"data": page, "meta": meta}
    if users:
        payload["includes"] = {"users": users}
    return 200, payload, {}


# -- YouTube ----------------------------------------------------------------------------------
def youtube(store: ReplayStore, query: Query, match: bool, *, kind: str, repeat: bool) -> Answer:
    if kind == "search":
        terms = query_terms(query.get("q", ""))
        after = _ts(query.get("publishedAfter"))
        items = [
            v for v in store.items["youtube"]
            if isinstance(v.get("id"), dict) and _matches("youtube", v, terms, match)
            and (after is None or (_ts((v.get("snippet") or {}).get("publishedAt")) or 0) >= after)
        ]
        limit = _limit(query, "maxResults", 5, 50)
        response_kind = "youtube#searchListResponse"
    else:
        terms = query_terms(query.get("searchTerms", ""))
        video, channel = query.get("videoId"), query.get("allThreadsRelatedToChannelId")
        items = [
            t for t in store.items["youtube"]
            if isinstance(t.get("id"), str)
            and (not video or (t.get("snippet") or {}).get("videoId") == video)
            and (not channel or (t.get("snippet") or {}).get("channelId") == channel)
            and _matches("youtube", t, terms, match)
        ]
        limit = _limit(query, "maxResults", 20, 100)
        response_kind = "youtube#commentThreadListResponse"
    start = _offset(query.get("pageToken"), "p")
    page = items[start:start + limit]
    payload: dict[str, Any] = {
        "kind": response_kind, "pageInfo": {"totalResults": len(items), "resultsPerPage": limit}, "items": page,
    }
    if start + limit < len(items):
        payload["nextPageToken"] = query["pageToken"] if repeat and query.get("pageToken") else f"p{start + limit}"
    return 200, payload, {}


# -- RSS --------------------------------------------------------------------------------------
def feed(
    store: ReplayStore, name: str, headers: Mapping[str, str], started: datetime
) -> tuple[int, bytes, dict[str, str]]:
    body = store.feeds.get(name)
    if body is None:
        return 404, b"not found", {"Content-Type": "text/plain"}
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    out = {"ETag": etag, "Last-Modified": format_datetime(started, usegmt=True),
           "Content-Type": "application/atom+xml" if b"<feed" in body[:500] else "application/rss+xml"}
    if headers.get("If-None-Match") == etag:
        return 304, b"", {"ETag": etag}
    return 200, body, out


def route(path: str) -> tuple[str, dict[str, str]] | None:
    """Which endpoint a path is, with its path parameters (None: not found)."""
    for name, pattern in _ROUTES:
        found = pattern.match(path)
        if found:
            return name, {k: v for k, v in found.groupdict().items() if v is not None}
    return None


_ROUTES = [
    ("mastodon_search", re.compile(r"^/mastodon(?:/(?P<instance>[^/]+))?/api/v2/search$")),
    ("mastodon_tag", re.compile(r"^/mastodon(?:/(?P<instance>[^/]+))?/api/v1/timelines/tag/(?P<tag>[^/]+)$")),
    ("bluesky_search", re.compile(r"^/bluesky/xrpc/app\.bsky\.feed\.searchPosts$")),
    ("bluesky_create", re.compile(r"^/bluesky/xrpc/com\.atproto\.server\.createSession$")),
    ("bluesky_refresh", re.compile(r"^/bluesky/xrpc/com\.atproto\.server\.refreshSession$")),
    ("reddit_search", re.compile(r"^/reddit(?:/r/(?P<subs>[^/]+))?/search/?$")),
    ("reddit_listing", re.compile(r"^/reddit/r/(?P<subs>[^/]+)/(?P<listing>new|comments)/?$")),
    ("hackernews", re.compile(r"^/hackernews/api/v1/search_by_date$")),
    ("x", re.compile(r"^/x/2/tweets/search/recent$")),
    ("youtube_threads", re.compile(r"^/youtube/youtube/v3/commentThreads$")),
    ("youtube_search", re.compile(r"^/youtube/youtube/v3/search$")),
    ("rss", re.compile(r"^/rss/(?P<name>.+)$")),
    ("redirect", re.compile(r"^/_redirect$")),
]
