"""The reply outbox's table."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from inbox.storage.tables.fields import ts_field

__all__ = ["Reply", "ReplyStatus"]


class ReplyStatus:
    PENDING_APPROVAL = "pending_approval"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    REJECTED = "rejected"
    ALL = ("pending_approval", "queued", "sending", "sent", "failed", "rejected")


class Reply(SQLModel, table=True):
    """The reply outbox: one row per answer written in the inbox, committed with its audit event.
    The sender (inbox.work.reply_sender) moves it queued -> sending -> sent | failed; ``sending``
    with an expired lease means a sender died after it may have sent the request, so the next one
    first looks on the platform before it sends again. No credential is ever stored here."""

    __tablename__ = "reply"
    __table_args__ = (Index("ix_reply_due", "status", "next_attempt_at"), Index("ix_reply_item", "item_id", "id"))
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="mention.id", ondelete="CASCADE")
    connector: str = Field(max_length=64)          # the connector (the mention's source) that sends it
    platform: str = Field(max_length=32)
    parent_external_id: str = Field(max_length=512)
    text: str
    status: str = Field(default=ReplyStatus.QUEUED, max_length=20)
    author: str = Field(max_length=64)             # the user who wrote it
    idempotency_key: str = Field(max_length=64, unique=True)
    attempts: int = 0
    next_attempt_at: datetime | None = ts_field()
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = ts_field()
    first_sent_at: datetime | None = ts_field()   # when a request first went out (the crash check looks after it)
    in_doubt: bool = False                          # a request may have been delivered: look before sending again
    external_id: str | None = Field(default=None, max_length=512)
    url: str | None = None
    error: str | None = None
    error_status: int | None = None
    reviewer: str | None = Field(default=None, max_length=64)
    review_note: str | None = None
    created_at: datetime | None = ts_field(nullable=False)
    sent_at: datetime | None = ts_field()
    updated_at: datetime | None = ts_field(nullable=False)
