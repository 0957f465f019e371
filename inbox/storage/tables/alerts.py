"""What the inbox tells people: crises, notifications (outgoing, and in-app per user), and the
digest's recipients and runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from inbox.storage.tables.fields import json_field, ts_field

__all__ = ["Crisis", "Notification", "UserNotification", "DigestRecipient", "DigestRun"]


class Crisis(SQLModel, table=True):
    """A detected spike. At most one OPEN crisis per subject (a partial unique index), so several
    instances running the check at once cannot open two."""

    __tablename__ = "crisis"
    __table_args__ = (
        Index("uq_crisis_open_subject", "subject", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_crisis_opened_at", "opened_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)               # cluster | safety | label
    subject: str = Field(max_length=96)            # "cluster:<key>" or "label:<label>"
    label: str | None = Field(default=None, max_length=32)
    cluster_key: str | None = Field(default=None, max_length=64)
    status: str = Field(default="open", max_length=16)   # open | closed
    window_start: datetime | None = ts_field(nullable=False)
    window_end: datetime | None = ts_field(nullable=False)
    count: int = 0
    baseline_mean: float = 0.0
    baseline_std: float = 0.0
    threshold: float = 0.0
    item_id: int | None = None                     # the crisis queue item (a synthetic mention)
    data: dict[str, Any] | None = json_field()
    opened_at: datetime | None = ts_field(nullable=False)
    last_spike_at: datetime | None = ts_field(nullable=False)
    closed_at: datetime | None = ts_field()


class Notification(SQLModel, table=True):
    """The outbox and delivery log of outgoing notifications: one row per event, channel and target;
    ``dedupe_key`` is unique so an event is enqueued once however many instances see it."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_item", "item_id", "kind"),
        Index("ix_notification_created", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=255, unique=True)
    kind: str = Field(max_length=32)               # high_priority | sla_breach | crisis
    channel: str = Field(max_length=16)            # webhook | email
    target: str = Field(max_length=1024)           # URL, or comma-separated addresses
    item_id: int | None = None
    crisis_id: int | None = None
    payload: dict[str, Any] | None = json_field()
    status: str = Field(default="pending", max_length=16)  # pending | sending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime | None = ts_field(nullable=False)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = ts_field()
    last_error: str | None = None
    last_status: int | None = None
    log: list[dict[str, Any]] = json_field(list)
    created_at: datetime | None = ts_field(nullable=False)
    delivered_at: datetime | None = ts_field()


class UserNotification(SQLModel, table=True):
    """A notification for one person in the app (inbox.domain.people_notify): written in the
    transaction of the change it tells about; ``dedupe_key`` is unique per person."""

    __tablename__ = "user_notification"
    __table_args__ = (UniqueConstraint("user_id", "dedupe_key", name="uq_user_notification_key"),
                      Index("ix_user_notification_user", "user_id", "id"))
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    kind: str = Field(max_length=32)               # assigned | mentioned | sla_due | reply_failed | approval
    item_id: int = Field(index=True)
    actor: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] | None = json_field()
    dedupe_key: str = Field(max_length=255)
    created_at: datetime | None = ts_field(nullable=False)
    read_at: datetime | None = ts_field()


class DigestRecipient(SQLModel, table=True):
    """Who receives the brief of an audience (a team's name or "executive"), in which language."""

    __tablename__ = "digest_recipient"
    __table_args__ = (UniqueConstraint("audience", "email", name="uq_digest_recipient"),)
    id: int | None = Field(default=None, primary_key=True)
    audience: str = Field(max_length=64)
    email: str = Field(max_length=254)
    lang: str = Field(default="en", max_length=8)
    created_at: datetime | None = ts_field(nullable=False)


class DigestRun(SQLModel, table=True):
    """One brief of one audience for one period, with what it said (``brief``, the figures it was
    rendered from) and its delivery to each recipient. Unique per (audience, period_end): the
    instance that inserts the row sends it, so a brief goes out once however many instances run."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("audience", "period_end", name="uq_digest_run_period"),
                      Index("ix_digest_run_created", "created_at"))
    id: int | None = Field(default=None, primary_key=True)
    audience: str = Field(max_length=64)
    period_start: datetime | None = ts_field(nullable=False)
    period_end: datetime | None = ts_field(nullable=False)
    status: str = Field(default="sending", max_length=16)  # sending | sent | failed
    brief: dict[str, Any] | None = json_field()
    deliveries: list[dict[str, Any]] = json_field(list)     # [{email, lang, ok, error, at}]
    attempts: int = 0
    lease_expires_at: datetime | None = ts_field()
    created_at: datetime | None = ts_field(nullable=False)
    sent_at: datetime | None = ts_field()
