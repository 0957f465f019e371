"""What came in: mentions, their earlier texts, what could not be read (dead letters), what
must not come back (tombstones) and the posts they answer (context posts)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from inbox.storage.tables.fields import json_field, ts_field

__all__ = ["Mention", "MentionRevision", "DeadLetter", "Tombstone", "ContextPost"]


class Mention(SQLModel, table=True):
    __tablename__ = "mention"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_mention_source_external"),
                      Index("ix_mention_source_thread", "source", "thread_id"),  # a post's conversation
                      Index("ix_mention_copy_key", "copy_key", "id"),  # a post's older copies
                      # an author's earlier mentions, newest first by when they were posted (repo.replies)
                      Index("ix_mention_author_posted", "source", "author_handle",
                            text("coalesce(created_at, fetched_at)"), "id"))
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    platform: str = Field(default="import", max_length=32)
    external_id: str = Field(max_length=512)
    url: str | None = None
    author_handle: str | None = Field(default=None, max_length=256)
    author_name: str | None = Field(default=None, max_length=256)
    author_followers: int | None = None
    text: str
    lang: str | None = Field(default=None, max_length=16)
    created_at: datetime | None = ts_field()
    fetched_at: datetime | None = ts_field(nullable=False, index=True)
    reply_to_id: str | None = Field(default=None, max_length=512)
    thread_id: str | None = Field(default=None, max_length=512)
    metrics: dict[str, Any] | None = json_field()
    is_repost: bool = False
    original_external_id: str | None = Field(default=None, max_length=512)
    edited_at: datetime | None = ts_field()
    deleted: bool = False
    cluster_key: str | None = Field(default=None, max_length=64, index=True)
    copy_key: str | None = Field(default=None, max_length=16)  # copies of one post (ix_mention_copy_key)
    raw: Any = json_field()
    provenance: dict[str, str] | None = json_field()  # where a field came from when not the usual place


class MentionRevision(SQLModel, table=True):
    """A text of a mention that a later edit replaced; ``edited_at`` is when it became current
    (the platform's edit time, or the mention's creation for the first text)."""

    __tablename__ = "mention_revision"
    __table_args__ = (Index("ix_mention_revision_mention", "mention_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", ondelete="CASCADE")
    text: str
    edited_at: datetime | None = ts_field()
    recorded_at: datetime | None = ts_field(nullable=False)


class DeadLetter(SQLModel, table=True):
    __tablename__ = "dead_letter"
    __table_args__ = (UniqueConstraint("source", "digest", name="uq_dead_letter_source_digest"),)
    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64)  # sha256 of (line number, reason, raw): a replay is stored once
    source: str = Field(max_length=64, index=True)
    line_no: int | None = None
    reason: str
    raw: str
    created_at: datetime | None = ts_field(nullable=False)


class Tombstone(SQLModel, table=True):
    """A mention erased on request (inbox/work/privacy.py): its key stays so that a later poll,
    import or webhook does not store it again. Nothing else about it is kept."""

    __tablename__ = "tombstone"
    source: str = Field(primary_key=True, max_length=64)
    external_id: str = Field(primary_key=True, max_length=512)
    created_at: datetime | None = ts_field(nullable=False)


class ContextPost(SQLModel, table=True):
    """A post that a mention answers (its parent, or its thread's first post) fetched from the
    platform because it was not polled as a mention (inbox/work/thread_context.py). The key is the
    id as the mention carries it in ``reply_to_id`` / ``thread_id``. ``gone``: the platform said it
    does not exist (deleted), so it is not asked for again; such a row holds no text."""

    __tablename__ = "context_post"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_context_post_source_external"),
                      Index("ix_context_post_author", "author_handle"))  # erasure finds an author's posts
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=512)
    author_handle: str | None = Field(default=None, max_length=256)
    author_name: str | None = Field(default=None, max_length=256)
    text: str = ""
    url: str | None = None
    created_at: datetime | None = ts_field()
    fetched_at: datetime | None = ts_field(nullable=False)
    gone: bool = False
