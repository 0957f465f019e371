"""A stand-in for the five platforms' write APIs (Mastodon, Bluesky, Reddit, X, YouTube) and for the
reads the reply sender makes after a crash, answering in each platform's documented format. The
demo's replay server answers replies with it, so an agent trying the demo sees a reply go out and
come back as sent; the reply tests and ``bench/replies.py`` use it as the platforms.

Paths are the connectors' own under one base URL per platform (``{base}/mastodon/api/v1/statuses``,
...). Every write is recorded in ``writes``; ``script`` queues answers (status, headers, body) for a
path, to give the sender an error before the real answer. Mastodon honours ``Idempotency-Key``: a
repeated key gets the first status back, not a new one. Nothing is sent anywhere."""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

__all__ = ["PLATFORMS", "WriteSandbox"]

PLATFORMS = ("mastodon", "bluesky", "reddit", "x", "youtube")


@dataclass
class WriteSandbox:
    writes: list[dict[str, Any]] = field(default_factory=list)
    script: dict[str, list[tuple[int, dict[str, str], Any]]] = field(default_factory=dict)
    posts: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {p: [] for p in PLATFORMS})
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    seq: Any = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    def delivered(self, platform: str) -> list[dict[str, Any]]:
        """The writes that created a post on ``platform`` (not sessions, not replayed keys, not refusals)."""
        return [w for w in self.writes if w["platform"] == platform and w.get("created")]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = raw.decode("utf-8")
        data: dict[str, Any] = {}
        if body:
            data = (json.loads(body) if request.content_type == "application/json"
                    else dict(parse_qsl(body, keep_blank_values=True)))
        path = request.path
        platform = path.strip("/").split("/")[0]
        if path == "/_stats":  # for a fake running in another process (bench/replies.py)
            return web.json_response({p: len(self.delivered(p)) for p in PLATFORMS})
        if request.method == "POST":
            entry: dict[str, Any] = {"platform": platform, "path": path, "data": data, "query": dict(request.query),
                                     "headers": {k: v for k, v in request.headers.items()
                                                 if k in ("Authorization", "Idempotency-Key", "Content-Type")}}
            self.writes.append(entry)
            queued = self.script.get(path)
            if queued:
                status, headers, payload = queued.pop(0)
                entry["status"] = status
                return web.json_response(payload, status=status, headers=headers)
            resp = self._write(platform, path, data, request, entry)
            entry["status"] = resp.status
            return resp
        return self._read(platform, path, request)

    def _write(self, platform: str, path: str, data: dict[str, Any], request: web.Request,
               entry: dict[str, Any]) -> web.Response:
        auth = request.headers.get("Authorization", "")
        n = next(self.seq)
        if path == "/bluesky/xrpc/com.atproto.server.createSession":
            token = f"jwt-{n}"
            self.sessions.add(token)
            return web.json_response({"accessJwt": token, "refreshJwt": f"r-{n}", "handle": data.get("identifier"),
                                      "did": "did:plc:acmesupport000000000000"})
        if platform == "bluesky":
            if auth.removeprefix("Bearer ") not in self.sessions:
                return web.json_response({"error": "AuthenticationRequired", "message": "Authentication Required"},
                                         status=401)
        elif not auth.startswith("Bearer "):
            return web.json_response({"error": "unauthorized"}, status=401)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        if path == "/mastodon/api/v1/statuses":
            key = request.headers.get("Idempotency-Key")
            if key and key in self.keys:
                return web.json_response(self.keys[key])
            status = {"id": f"1140000000000{n:05d}", "created_at": now, "in_reply_to_id": data.get("in_reply_to_id"),
                      "content": f"<p>{data.get('status')}</p>", "visibility": "public",
                      "url": f"https://mastodon.example/@acme/{n}",
                      "uri": f"https://mastodon.example/users/acme/statuses/{n}",
                      "account": {"id": "1", "username": "acme", "acct": "acme"}}
            if key:
                self.keys[key] = status
            return self._created("mastodon", entry, status, status)
        if path == "/bluesky/xrpc/com.atproto.repo.createRecord":
            uri = f"at://{data['repo']}/app.bsky.feed.post/3kreply{n:05d}"
            out = {"uri": uri, "cid": f"bafyreireply{n:040d}", "commit": {"cid": "bafyc", "rev": "3k"},
                   "validationStatus": "valid"}
            return self._created("bluesky", entry, out, {"uri": uri, "cid": out["cid"], "record": data["record"],
                                                         "author": {"did": data["repo"]}})
        if path == "/reddit/api/comment":
            thing = {"id": f"r{n}", "name": f"t1_r{n}", "parent_id": data.get("thing_id"), "body": data.get("text"),
                     "author": "acme", "permalink": f"/r/acme/comments/x/_/r{n}/"}
            return self._created("reddit", entry, {"json": {"errors": [], "data": {"things": [{"kind": "t1",
                                                                                              "data": thing}]}}},
                                 thing)
        if path == "/x/2/tweets":
            tid = f"18700000000000{n:05d}"
            tweet = {"id": tid, "text": data["text"], "edit_history_tweet_ids": [tid]}
            stored = {**tweet, "referenced_tweets": [{"type": "replied_to",
                                                      "id": data["reply"]["in_reply_to_tweet_id"]}]}
            return self._created("x", entry, {"data": tweet}, stored, status=201)
        if path == "/youtube/youtube/v3/comments":
            snippet = data.get("snippet") or {}
            comment = {"kind": "youtube#comment", "etag": f"e{n}", "id": f"{snippet.get('parentId')}.r{n}",
                       "snippet": {**snippet, "textDisplay": snippet.get("textOriginal"), "publishedAt": now,
                                   "authorDisplayName": "Acme"}}
            return self._created("youtube", entry, comment, comment)
        return web.json_response({"error": "not found"}, status=404)

    def _created(self, platform: str, entry: dict[str, Any], answer: Any, stored: Any,
                 status: int = 200) -> web.Response:
        entry["created"] = True
        self.posts[platform].append(stored)
        return web.json_response(answer, status=status)

    def _read(self, platform: str, path: str, request: web.Request) -> web.Response:
        q = request.query
        if platform == "mastodon" and path.endswith("/context"):
            parent = path.split("/")[-2]
            return web.json_response({"ancestors": [], "descendants": [s for s in self.posts["mastodon"]
                                                                       if s["in_reply_to_id"] == parent]})
        if path == "/bluesky/xrpc/app.bsky.feed.getAuthorFeed":
            return web.json_response({"feed": [{"post": p} for p in reversed(self.posts["bluesky"])]})
        if path == "/reddit/api/v1/me":
            return web.json_response({"name": "acme", "id": "acme1"})
        if path == "/reddit/user/acme/comments":
            return web.json_response({"kind": "Listing", "data": {"children": [
                {"kind": "t1", "data": t} for t in reversed(self.posts["reddit"])], "after": None}})
        if path == "/x/2/users/me":
            return web.json_response({"data": {"id": "999", "name": "Acme", "username": "acme"}})
        if path == "/x/2/users/999/tweets":
            return web.json_response({"data": list(reversed(self.posts["x"])), "meta": {}})
        if path == "/youtube/youtube/v3/comments":
            return web.json_response({"kind": "youtube#commentListResponse", "items": [
                c for c in self.posts["youtube"] if c["snippet"].get("parentId") == q.get("parentId")]})
        return web.json_response({"error": "not found"}, status=404)
