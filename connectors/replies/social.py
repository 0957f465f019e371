"""Reply writers for Mastodon and Bluesky.

Mastodon: ``POST {base_url}/api/v1/statuses`` (form: ``status``, ``in_reply_to_id``) with
``Authorization: Bearer`` and ``Idempotency-Key`` = the outbox row's key: Mastodon answers a
repeated key with the first status instead of posting again (it keeps keys for an hour), so a
resend after a crash is safe within that hour; past it the writer first looks at the parent's
``context`` for a reply of ours with the same text.

Bluesky: ``POST {base_url}/xrpc/com.atproto.server.createSession`` (``handle`` + the app password
from ``reply_token_env``), then ``POST {base_url}/xrpc/com.atproto.repo.createRecord`` with an
``app.bsky.feed.post`` record whose ``reply.parent`` is the mention (uri + cid) and ``reply.root``
the thread's first post (the mention's own ``reply.root``, else the mention). There is no
idempotency key: after a crash the writer reads the account's feed
(``app.bsky.feed.getAuthorFeed``) for a reply to the same parent with the same text.
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from ..html import html_to_text
from ..normalize import parse_datetime
from .base import Posted, ReplyTarget, ReplyWriter, same_text

__all__ = ["MastodonWriter", "BlueskyWriter"]

IDEMPOTENCY_WINDOW = timedelta(minutes=50)
"""How long a resend relies on Mastodon's Idempotency-Key alone (Mastodon keeps keys one hour)."""


class MastodonWriter(ReplyWriter):
    platform = "mastodon"
    idempotent = True

    async def send(self, target: ReplyTarget) -> Posted:
        headers = {**self.bearer(), "Idempotency-Key": target.key}
        response = await self.post(f"{self.base}/api/v1/statuses", headers=headers,
                                   data={"status": target.text, "in_reply_to_id": target.parent_id})
        status = response.json()
        return Posted(str(status["id"]), status.get("url") or status.get("uri"))

    def key_still_honoured(self, first_sent_at: datetime, now: datetime) -> bool:
        return now - first_sent_at < IDEMPOTENCY_WINDOW

    async def find_sent(self, target: ReplyTarget, since: datetime) -> Posted | None:
        context = await self.get(f"{self.base}/api/v1/statuses/{target.parent_id}/context", headers=self.bearer())
        for status in (context or {}).get("descendants") or [] if isinstance(context, dict) else []:
            if not isinstance(status, dict) or str(status.get("in_reply_to_id")) != target.parent_id:
                continue
            created = parse_datetime(status.get("created_at"))
            if created is not None and created < since - timedelta(minutes=1):
                continue
            if same_text(html_to_text(status.get("content") or ""), target.text):
                return Posted(str(status["id"]), status.get("url") or status.get("uri"))
        return None


class BlueskyWriter(ReplyWriter):
    """One session per writer: the sender builds its writers for one run (seconds), far shorter than
    an access token lives, so the replies of a run share one createSession."""

    platform = "bluesky"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = asyncio.Lock()
        self._cached: tuple[str, str] | None = None

    async def _session(self) -> tuple[str, str]:
        """(accessJwt, did) of this writer's session of the configured handle."""
        async with self._lock:
            if self._cached is None:
                response = await self.post(f"{self.base}/xrpc/com.atproto.server.createSession", headers={},
                                           json_body={"identifier": self.settings.handle,
                                                      "password": self.credential()})
                data = response.json()
                self._cached = (str(data["accessJwt"]), str(data["did"]))
            return self._cached

    def _record(self, target: ReplyTarget) -> dict[str, Any]:
        parent = {"uri": target.parent_id, "cid": str(target.parent.get("cid") or "")}
        root = ({"uri": str(target.parent["root_uri"]), "cid": str(target.parent["root_cid"])}
                if target.parent.get("root_uri") and target.parent.get("root_cid") else parent)
        return {"$type": "app.bsky.feed.post", "text": target.text,
                "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "reply": {"root": root, "parent": parent}}

    async def send(self, target: ReplyTarget) -> Posted:
        token, did = await self._session()
        response = await self.post(f"{self.base}/xrpc/com.atproto.repo.createRecord",
                                   headers={"Authorization": f"Bearer {token}"},
                                   json_body={"repo": did, "collection": "app.bsky.feed.post",
                                              "record": self._record(target)})
        uri = str(response.json()["uri"])
        return Posted(uri, _post_url(uri, self.settings.handle))

    async def find_sent(self, target: ReplyTarget, since: datetime) -> Posted | None:
        token, did = await self._session()
        feed = await self.get(f"{self.base}/xrpc/app.bsky.feed.getAuthorFeed",
                              headers={"Authorization": f"Bearer {token}"},
                              params={"actor": did, "filter": "posts_with_replies", "limit": "50"})
        for entry in (feed.get("feed") or []) if isinstance(feed, dict) else []:
            post = entry.get("post") if isinstance(entry, dict) else None
            if not isinstance(post, dict) or not isinstance(post.get("record"), dict):
                continue
            record = post["record"]
            parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
            if parent == target.parent_id and same_text(record.get("text"), target.text):
                return Posted(str(post["uri"]), _post_url(str(post["uri"]), self.settings.handle))
        return None


def _post_url(uri: str, handle: str | None) -> str | None:
    rkey = uri.rstrip("/").rsplit("/", 1)[-1]
    return f"https://bsky.app/profile/{handle}/post/{rkey}" if handle else None
