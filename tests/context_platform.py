"""A fake of the six platforms' read APIs that thread context uses, serving
tests/fixtures/context/posts.json (each platform's documented format) under ``/<platform>``.
An id that is not in the fixture is answered as the platform answers for a deleted post
(404, or left out of the list). ``requests`` records what was asked (path and query)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["ContextPlatforms", "FIXTURE", "context_tables"]

FIXTURE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "context" / "posts.json").read_text(encoding="utf-8"))
_NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"


def context_tables(base: str, names: tuple[str, ...] = ("mastodon", "bluesky", "reddit", "x", "youtube",
                                                         "hackernews")) -> list[dict[str, Any]]:
    """``[[connectors]]`` tables pointing each platform at the fake (names = types)."""
    return [{"name": n, "type": n, "base_url": f"{base}/{n}", "query": ["acme"], "interval": "1h",
             "allow_private_hosts": True, "token_env": None} for n in names]


class ContextPlatforms:
    def __init__(self, posts: dict[str, Any] | None = None) -> None:
        self.posts = posts if posts is not None else FIXTURE
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
        app = web.Application()
        app.router.add_get("/mastodon/api/v1/statuses/{id}", self.mastodon)
        app.router.add_get("/bluesky/xrpc/app.bsky.feed.getPosts", self.bluesky)
        app.router.add_get("/reddit/api/info", self.reddit)
        app.router.add_get("/x/2/tweets", self.x)
        app.router.add_get("/youtube/youtube/v3/{kind}", self.youtube)
        app.router.add_get("/hackernews/api/v1/items/{id}", self.hackernews)
        return app

    async def mastodon(self, request: web.Request) -> web.Response:
        if (early := self._seen(request, "mastodon")) is not None:
            return early
        status = self.posts["mastodon"].get(request.match_info["id"])
        return web.json_response(status) if status else web.json_response({"error": "Record not found"}, status=404)

    async def bluesky(self, request: web.Request) -> web.Response:
        if (early := self._seen(request, "bluesky")) is not None:
            return early
        uris = request.query.getall("uris", [])
        if len(uris) > 25:
            return web.json_response({"error": "InvalidRequest", "message": "uris must not have more than 25"},
                                     status=400)
        return web.json_response({"posts": [p for p in self.posts["bluesky"] if p["uri"] in uris]})

    async def reddit(self, request: web.Request) -> web.Response:
        if (early := self._seen(request, "reddit")) is not None:
            return early
        names = request.query.get("id", "").split(",")
        children = [c for c in self.posts["reddit"] if c["data"]["name"] in names]
        return web.json_response({"kind": "Listing", "data": {"after": None, "dist": len(children),
                                                              "children": children, "before": None}})

    async def x(self, request: web.Request) -> web.Response:
        if (early := self._seen(request, "x")) is not None:
            return early
        ids = request.query.get("ids", "").split(",")
        data = [t for t in self.posts["x"]["data"] if t["id"] in ids]
        authors = {t["author_id"] for t in data}
        body: dict[str, Any] = {"data": data, "includes": {"users": [u for u in self.posts["x"]["users"]
                                                                     if u["id"] in authors]}}
        gone = [i for i in ids if i not in {t["id"] for t in data}]
        if gone:
            body["errors"] = [{"value": i, "detail": f"Could not find tweet with ids: [{i}].",
                               "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                               "resource_id": i, "type": _NOT_FOUND}
                              for i in gone]
        return web.json_response(body)

    async def youtube(self, request: web.Request) -> web.Response:
        if (early := self._seen(request, "youtube")) is not None:
            return early
        kind = request.match_info["kind"]
        ids = request.query.get("id", "").split(",")
        pool = self.posts["youtube"].get(kind, [])
        items = [i for i in pool if i["id"] in ids]
        return web.json_response({"kind": f"youtube#{kind[:-1]}ListResponse", "etag": "e",
                                  "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
                                  "items": items})

    async def hackernews(self, request: web.Request) -> web.Response:
        if (early := self._seen(request, "hackernews")) is not None:
            return early
        item = self.posts["hackernews"].get(request.match_info["id"])
        return web.json_response(item) if item else web.json_response({"status": 404, "error": "Not Found"}, status=404)
