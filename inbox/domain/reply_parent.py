"""Which post a reply answers, as each platform's write API names it, from the stored mention.

- Mastodon: the status ``id`` on the polled instance (the raw status's ``id``), not the id inside
  a remote status's URI.
- Bluesky: the post's ``at://`` uri (the external id) with its ``cid``; the thread root is the
  mention's own ``reply.root`` when it is itself a reply, else the mention.
- Reddit: the fullname (``t1_…`` comment or ``t3_…`` post), the external id.
- X: the tweet's current id (the latest of an edited tweet), else the external id.
- YouTube: the comment id. YouTube threads one level deep, so the answer to a reply goes under
  the thread's top-level comment. A video (not a comment) gets no reply here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ParentRef", "parent_ref"]


@dataclass(frozen=True, slots=True)
class ParentRef:
    parent_id: str
    extra: dict[str, Any] = field(default_factory=dict)
    refusal: str | None = None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parent_ref(platform: str, mention: Mapping[str, Any]) -> ParentRef:
    raw = _dict(mention.get("raw"))
    ext = str(mention["external_id"])
    if platform == "mastodon":
        return ParentRef(str(raw.get("id") or ext.rstrip("/").rsplit("/", 1)[-1]))
    if platform == "bluesky":
        root = _dict(_dict(_dict(raw.get("record")).get("reply")).get("root"))
        extra = {"cid": raw.get("cid")}
        if root.get("uri") and root.get("cid"):
            extra.update(root_uri=root["uri"], root_cid=root["cid"])
        if not raw.get("cid"):
            return ParentRef(ext, extra, "the stored post has no cid, which Bluesky needs to thread a reply")
        return ParentRef(ext, extra)
    if platform == "x":
        return ParentRef(str(raw.get("id") or ext))
    if platform == "youtube":
        if raw.get("kind") == "youtube#searchResult" or _dict(raw.get("id")).get("videoId"):
            return ParentRef(ext, refusal="this mention is a video, not a comment: answer under the video on YouTube")
        return ParentRef(str(mention.get("reply_to_id") or ext))
    return ParentRef(ext)
