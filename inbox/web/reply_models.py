"""Request and response models of the reply endpoints (inbox.web.replies_api) and of the reply part
of an item's detail."""
from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from inbox.web.models import Body, ItemId, NonBlank, Out, Params, PlainText, Timestamp

__all__ = ["ReplyBody", "ReviewBody", "ReplyPath", "ReplyOut", "ThreadPost", "ReplyInfo", "EarlierMention",
           "MAX_REPLY"]

MAX_REPLY = 10_000


class ReplyBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "Thanks, we are looking into it."}]})
    text: Annotated[NonBlank, Field(max_length=MAX_REPLY, description=(
        "the answer; the platform's own limit applies too (Mastodon 500 characters, Bluesky 300 graphemes, "
        "X 280 weighted, Reddit and YouTube 10,000)"))]


class ReviewBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "tone checked"}]})
    note: Annotated[PlainText, Field(max_length=1000)] | None = None


class ReplyPath(Params):
    id: ItemId


class ReplyOut(Out):
    id: int
    text: str
    status: str = Field(description="pending_approval, queued, sent, failed (see error) or rejected")
    author: str
    created_at: Timestamp
    sent_at: Timestamp | None
    external_id: str | None
    url: str | None
    error: str | None
    reviewer: str | None
    review_note: str | None
    attempts: int


class ThreadPost(Out):
    id: int | None = Field(description="the item id when the post is stored here")
    external_id: str
    text: str | None
    author: str | None
    url: str | None
    created_at: Timestamp | None


class ReplyInfo(Out):
    available: bool
    reason: str | None = Field(description="why replies cannot be sent from here")
    platform: str
    limit: int | None
    unit: str | None
    approval: bool = Field(description="replies wait for a lead's approval")


class EarlierMention(Out):
    id: int
    text: str
    created_at: Timestamp | None
    status: str
    team: str

