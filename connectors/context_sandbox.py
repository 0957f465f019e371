"""A stand-in for the six platforms' read APIs that thread context uses (connectors/context.py):
Mastodon ``statuses/{id}``, Bluesky ``getPosts``, Reddit ``api/info``, X ``2/tweets``, YouTube
``comments`` and ``videos``, Hacker News ``items/{id}``, each under ``/<platform>`` and answering in
the platform's documented format from ``posts`` (a dict by platform, as in
connectors/samples/context/posts.json). An id it does not hold is answered as the platform answers
for a deleted post (404, or left out of the list). The demo's replay server answers with it, over
the demo's own parent posts; the thread-context tests use it over theirs. ``requests`` records
what was asked (path and query); ``fail_next`` and ``refuse`` script errors."""
from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["ContextSandbox", "SAMPLE_POSTS", "load_posts"]

_NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
SAMPLE_POSTS = Path(__file__).parent / "samples" / "context" / "posts.json"


def load_posts(path: Path = SAMPLE_POSTS) -> dict[str, Any]:
    """The posts of a fixture file (the demo's parent posts by default)."""
    return dict(json.loads(path.read_text(encoding="utf-8")))


class ContextSandbox:
    def __init__(self, posts: dict[str, Any]) -> None:
        self.posts = posts
        self.requests: list[str] = []
        self.fail_next: dict[str, int] = {}  # platform -> how many 503s to answer first
        self.refuse: dict[str, int] = {}  # platform -> a 4xx it answers to everything

    def _seen(self, request: web.Request, platform: str) -> web.Response | None:
        self.requests.append(request.path_qs)
        if self.fail_next.get(platform):
            self.fail_next[platform] -= 1
            return web.json_response({"error": "unavailable"}, status=503, headers={"Retry-After": "0"})
        if platform in self.refuse:
            return web.json_response({"error": "The access token is invalid"}, status=self.refuse[platform])
        return None

    def app(self) -> web.Application:
        """An application serving these posts alone."""
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._or_404)
        return app

    async def _or_404(self, request: web.Request) -> web.Response:
        found = await self.answer(request)
        return found if found is not None else web.json_response({"error": "Not Found"}, status=404)

    async def answer(self, request: web.Request) -> web.Response | None:
        """The answer to a GET on one of the six read endpoints, or None for any other request."""
        if request.method != "GET":
            return None
        for pattern, handler in self._routes:
            m = pattern.fullmatch(request.path)
            if m:
                return await handler(request, *m.groups())
        return None

    @property
    def _routes(self) -> list[tuple[re.Pattern[str], Callable[..., Awaitable[web.Response]]]]:
        return [(re.compile(r"/mastodon/api/v1/statuses/([^/]+)"), self.mastodon),
                (re.compile(r"/bluesky/xrpc/app\.bsky\.feed\.getPosts"), self.bluesky),
                (re.compile(r"/reddit/api/info"), self.reddit),
                (re.compile(r"/x/2/tweets"), self.x),
                (re.compile(r"/youtube/youtube/v3/(comments|videos)"), self.youtube),
                (re.compile(r"/hackernews/api/v1/items/([^/]+)"), self.hackernews)]

    async def mastodon(self, request: web.Request, status_id: str) -> web.Response:
        if (early := self._seen(request, "mastodon")) is not None:
            return early
        status = self.posts.get("mastodon", {}).get(status_id)
        return web.json_response(status) if status else web.json_response({"error": "Record not found"}, status=404)

    async def bluesky(self, request: web.Request) -> web.Response:
        if (early := self._seen(request, "bluesky")) is not None:
            return early
        uris = request.query.getall("uris", [])
        if len(uris) > 25:
            return web.json_response({"error": "InvalidRequest", "message": "uris must not have more than 25"},
                                     status=400)
        return web.json_response({"posts": [p for p in self.posts.get("bluesky", []) if p["uri"] in uris]})

    async def reddit(self, request: web.Request) -> web.Response:
        if (early := self._seen(request, "reddit")) is not None:
            return early
        names = request.query.get("id", "").split(",")
        children = [c for c in self.posts.get("reddit", []) if c["data"]["name"] in names]
        return web.json_response({"kind": "Listing", "data": {"after": None, "dist": len(children),
                                                              "children": children, "before": None}})

    async def x(self, request: web.Request) -> web.Response:
        if (early := self._seen(request, "x")) is not None:
            return early
        ids = request.query.get("ids", "").split(",")
        data = [t for t in self.posts.get("x", {}).get("data", []) if t["id"] in ids]
        authors = {t["author_id"] for t in data}
        body: dict[str, Any] = {"data": data, "includes": {"users": [u for u in self.posts.get("x", {}).get("users", [])
                                                                     if u["id"] in authors]}}
        gone = [i for i in ids if i not in {t["id"] for t in data}]
        if gone:
            body["errors"] = [{"value": i, "detail": f"Could not find tweet with ids: [{i}].",
                               "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                               "resource_id": i, "type": _NOT_FOUND}
                              for i in gone]
        return web.json_response(body)

    async def youtube(self, request: web.Request, kind: str) -> web.Response:
        if (early := self._seen(request, "youtube")) is not None:
            return early
        ids = request.query.get("id", "").split(",")
        pool = self.posts.get("youtube", {}).get(kind, [])
        items = [i for i in pool if i["id"] in ids]
        return web.json_response({"kind": f"youtube#{kind[:-1]}ListResponse", "etag": "e",
                                  "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
                                  "items": items})

    async def hackernews(self, request: web.Request, item_id: str) -> web.Response:
        if (early := self._seen(request, "hackernews")) is not None:
            return early
        item = self.posts.get("hackernews", {}).get(item_id)
        return web.json_response(item) if item else web.json_response({"status": 404, "error": "Not Found"}, status=404)
