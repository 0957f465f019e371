"""What the replay server serves: items loaded from recorded responses, one store per root.

A root holds one folder per platform (``mastodon``, ``bluesky``, ``reddit``, ``hackernews``,
``rss``, ``x`` or ``x_twitter``, ``youtube``). Every ``*.json`` file in a folder that looks like a
response of that platform contributes its items (``*.headers.json`` and ``error_*`` files are
skipped), so both our own samples (``connectors/samples``) and the shared recorded fixtures
(``../shared/fixtures``) load the same way. RSS/Atom files are served as they are.

Items are kept newest first by the platform's own order key; the HTTP layer (``replay.py``)
answers each platform's query parameters (search terms, cursors, pages, time filters) over them.
Tests add items between polls with :meth:`ReplayStore.add` or replace a feed with
:meth:`ReplayStore.put_feed`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["PLATFORMS", "ReplayStore", "item_text", "order_key"]

PLATFORMS = ("mastodon", "bluesky", "reddit", "hackernews", "x", "youtube")
_FOLDERS = {"x": ("x", "x_twitter")}


def _iso_ts(value: Any) -> float:
    if not value:
        return 0.0
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC).timestamp()
    except ValueError:
        return 0.0


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def order_key(platform: str, item: dict[str, Any]) -> float:
    """The platform's "newest first" sort key for one item."""
    if platform in ("mastodon", "x"):
        return _int(item.get("id"))  # an int: ids beyond 2**53 do not all fit a float exactly
    if platform == "bluesky":
        return _iso_ts(item.get("indexedAt"))
    if platform == "reddit":
        return float((item.get("data") or {}).get("created_utc") or 0)
    if platform == "hackernews":
        return float(item.get("created_at_i") or _iso_ts(item.get("created_at")))
    if platform == "youtube":
        snippet = item.get("snippet") or {}
        top = (snippet.get("topLevelComment") or {}).get("snippet") or {}
        return _iso_ts(top.get("publishedAt") or snippet.get("publishedAt"))
    return 0.0


def item_id(platform: str, item: dict[str, Any]) -> str:
    if platform == "mastodon":
        return str(item.get("uri") or item.get("id"))
    if platform == "bluesky":
        return str(item.get("uri"))
    if platform == "reddit":
        return str((item.get("data") or {}).get("name"))
    if platform == "hackernews":
        return str(item.get("objectID"))
    if platform == "youtube":
        return str(item.get("id") if isinstance(item.get("id"), str) else (item.get("id") or {}).get("videoId"))
    return str(item.get("id"))


def item_text(platform: str, item: dict[str, Any]) -> str:
    """The text a platform's search would match against (lower-cased)."""
    if platform == "mastodon":
        inner = item.get("reblog") or item
        tags = " ".join("#" + str(t.get("name", "")) for t in inner.get("tags") or [] if isinstance(t, dict))
        text = f"{inner.get('spoiler_text', '')} {inner.get('content', '')} {tags}"
    elif platform == "bluesky":
        text = str((item.get("record") or {}).get("text", ""))
    elif platform == "reddit":
        data = item.get("data") or {}
        text = " ".join(str(data.get(k) or "") for k in ("title", "selftext", "body"))
    elif platform == "hackernews":
        text = " ".join(str(item.get(k) or "") for k in ("title", "story_text", "comment_text"))
    elif platform == "x":
        text = str(item.get("text", ""))
    else:  # youtube thread or video
        snippet = item.get("snippet") or {}
        parts = [str(snippet.get("title", "")), str(snippet.get("description", ""))]
        top = (snippet.get("topLevelComment") or {}).get("snippet") or {}
        parts += [str(top.get("textDisplay", "")), str(top.get("textOriginal", ""))]
        for reply in (item.get("replies") or {}).get("comments") or []:
            parts.append(str((reply.get("snippet") or {}).get("textDisplay", "")))
        text = " ".join(parts)
    return text.lower()


def query_terms(query: str) -> list[str]:
    """Plain terms of a search query: quotes stripped, operators (``-x``, ``a:b``, OR) dropped."""
    terms = []
    for token in re.findall(r'"[^"]+"|\S+', query):
        token = token.strip('"').strip("()")
        if not token or token.startswith("-") or ":" in token or token.upper() in ("OR", "AND"):
            continue
        terms.append(token.lower())
    return terms


def _extract(platform: str, payload: Any) -> tuple[list[Any], list[Any]]:
    """(items, x users) found in one recorded response."""
    if platform == "mastodon":
        if isinstance(payload, dict) and isinstance(payload.get("statuses"), list):
            return payload["statuses"], []
        if isinstance(payload, dict) and "uri" in payload and "content" in payload:
            return [payload], []
        if isinstance(payload, list):
            return [s for s in payload if isinstance(s, dict) and "id" in s and "uri" in s], []
    elif platform == "bluesky" and isinstance(payload, dict) and isinstance(payload.get("posts"), list):
        return payload["posts"], []
    elif platform == "reddit" and isinstance(payload, dict) and payload.get("kind") == "Listing":
        return list((payload.get("data") or {}).get("children") or []), []
    elif platform == "hackernews" and isinstance(payload, dict) and isinstance(payload.get("hits"), list):
        return payload["hits"], []
    elif platform == "x" and isinstance(payload, dict) and isinstance(payload.get("data"), list):
        return payload["data"], list((payload.get("includes") or {}).get("users") or [])
    elif platform == "youtube" and isinstance(payload, dict) and isinstance(payload.get("items"), list):
        return payload["items"], []
    return [], []


class ReplayStore:
    """Items per platform (newest first), X users, and feed files."""

    def __init__(self) -> None:
        self.items: dict[str, list[Any]] = {p: [] for p in PLATFORMS}
        self.users: dict[str, dict[str, Any]] = {}
        self.feeds: dict[str, bytes] = {}
        # per (platform, terms): the matching items, newest first; dropped by every add()
        self._matching: dict[tuple[str, tuple[str, ...]], list[Any]] = {}

    @classmethod
    def load(cls, root: Path) -> ReplayStore:
        """Read every platform folder under ``root`` (missing folders are empty)."""
        store = cls()
        for platform in PLATFORMS:
            for folder in _FOLDERS.get(platform, (platform,)):
                base = root / folder
                if not base.is_dir():
                    continue
                for path in sorted(base.glob("*.json")):
                    if path.name.endswith(".headers.json") or path.name.startswith("error_"):
                        continue
                    items, users = _extract(platform, json.loads(path.read_text(encoding="utf-8")))
                    store.add(platform, items, users=users)
        rss = root / "rss"
        if rss.is_dir():
            for path in sorted(rss.iterdir()):
                if path.suffix in (".xml", ".rss", ".atom") or path.name.endswith(".atom.xml"):
                    store.feeds[path.name] = path.read_bytes()
        return store

    def add(self, platform: str, items: Iterable[Any], *, users: Iterable[Any] = ()) -> None:
        """Publish items (a later item with the same id replaces the earlier one: an edit).
        Items without an id cannot be cursored and are ignored."""
        current = {item_id(platform, i): i for i in self.items[platform]}
        for item in items:
            if isinstance(item, dict) and item_id(platform, item) not in ("None", ""):
                current[item_id(platform, item)] = item
        self.items[platform] = sorted(current.values(), key=lambda i: order_key(platform, i), reverse=True)
        self._matching = {k: v for k, v in self._matching.items() if k[0] != platform}
        for user in users:
            if isinstance(user, dict) and user.get("id"):
                self.users[str(user["id"])] = user

    def put_feed(self, name: str, body: bytes) -> None:
        self.feeds[name] = body

    def select(self, platform: str, keep: Callable[[Any], bool]) -> list[Any]:
        return [i for i in self.items[platform] if keep(i)]

    def matching(self, platform: str, terms: Sequence[str]) -> list[Any]:
        """The items whose search text (:func:`item_text`) holds one of ``terms`` (every item when
        ``terms`` is empty), newest first. Cached until the next :meth:`add` of that platform, so a
        page walk over a large store does not rescan every item's text on each request (items
        are replaced by ``add``, never changed in place)."""
        key = (platform, tuple(terms))
        found = self._matching.get(key)
        if found is None:
            wanted = [term.lstrip("#") for term in terms]
            found = [i for i in self.items[platform]
                     if not wanted or any(term in item_text(platform, i) for term in wanted)]
            self._matching[key] = found
        return found
