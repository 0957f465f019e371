"""The work on a mention: its queue item (one per queued mention: ``queue_item.id`` is the
mention's id, so "every mention has at most one owning queue" is a primary-key fact, not a
convention), routing decisions, the audit trail and corrections."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from inbox.storage.tables.fields import json_field, ts_field

__all__ = ["ItemStatus", "QueueItem", "RoutingDecision", "Event", "Correction"]


class ItemStatus:
    NEW = "new"
    CLAIMED = "claimed"
    REPLIED = "replied"
    WAITING = "waiting"
    RESOLVED = "resolved"
    SPAM = "spam"
    OPEN = ("new", "claimed", "replied", "waiting")
    ALL = ("new", "claimed", "replied", "waiting", "resolved", "spam")


class QueueItem(SQLModel, table=True):
    __tablename__ = "queue_item"
    __table_args__ = (
        Index("ix_queue_item_queue", "team", "status", "priority", "first_response_due"),
        Index("ix_queue_item_assignee", "assignee_id", "status"),
        Index("ix_queue_item_frt_sweep", "breached_first_response", "first_response_due"),
        Index("ix_queue_item_res_sweep", "breached_resolution", "resolve_due"),
        Index("ix_queue_item_status_created", "status", "created_at"),
        Index("ix_queue_item_priority_created", "priority", "created_at"),
        Index("ix_queue_item_crisis", "crisis_id"),
        # the refiner's candidates, least confident first; partial, so a refined item leaves it and
        # the claims, notes and resolves that follow never write to it
        Index("ix_queue_item_refine", "confidence", "id", sqlite_where=text("refined_at IS NULL"),
              postgresql_where=text("refined_at IS NULL")),
        # the items that may be copies hidden behind an open original (repo.page_reads' counts
        # subtract them): partial, so it holds only them
        Index("ix_queue_item_copies", "team", "status", "first_response_due",
              sqlite_where=text("copy_candidate = 1"), postgresql_where=text("copy_candidate")),
    )
    id: int = Field(foreign_key="mention.id", primary_key=True, ondelete="CASCADE")
    team: str = Field(foreign_key="team.name", max_length=64)
    status: str = Field(default=ItemStatus.NEW, max_length=16)
    priority: int = 1  # 0 low, 1 normal, 2 high, 3 urgent; higher first
    label: str | None = Field(default=None, max_length=32)
    confidence: float | None = None
    watchers: list[str] = json_field(list)
    assignee_id: int | None = Field(default=None, foreign_key="user_account.id")
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = ts_field(index=True)
    first_response_due: datetime | None = ts_field()
    resolve_due: datetime | None = ts_field()
    sla_paused_at: datetime | None = ts_field()
    first_touched_at: datetime | None = ts_field()
    resolved_at: datetime | None = ts_field()
    # the first reply sent through the inbox: stops the first-response SLA
    first_response_at: datetime | None = ts_field()
    breached_first_response: bool = False
    breached_resolution: bool = False
    transfers: int = 0
    bounces: int = 0
    crisis_id: int | None = None
    assigned_at: datetime | None = ts_field()  # set by auto-assignment; cleared when the assignee acts
    refined_at: datetime | None = (
        ts_field()
    )  # set when the background refiner has looked at the item (inbox/ingest/second_look.py)
    # an older mention had the same copy_key when this was set (repo.items.mark_copies): the item
    # may be a copy that the queue does not list; never cleared (a stale mark only costs a probe)
    copy_candidate: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    created_at: datetime | None = ts_field(nullable=False, index=True)
    updated_at: datetime | None = ts_field(nullable=False)


# the claim order as an index: claim_next walks it and stops at the first unlocked row
Index("ix_queue_item_claim", QueueItem.__table__.c.team, QueueItem.__table__.c.status,  # type: ignore[attr-defined]
      QueueItem.__table__.c.priority.desc(), QueueItem.__table__.c.first_response_due,  # type: ignore[attr-defined]
      QueueItem.__table__.c.id)  # type: ignore[attr-defined]


class RoutingDecision(SQLModel, table=True):
    __tablename__ = "routing_decision"
    # a mention's latest decision, max(id) WHERE mention_id = ?, is one probe of this index
    __table_args__ = (Index("ix_routing_decision_mention", "mention_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", ondelete="CASCADE")
    team: str | None = Field(default=None, max_length=64)
    label: str | None = Field(default=None, max_length=32)
    confidence: float | None = None
    probabilities: dict[str, float] | None = json_field()
    model_version: str | None = Field(default=None, max_length=64)
    rule: str | None = Field(default=None, max_length=128)
    reason: str = ""
    watchers: list[str] = json_field(list)
    priority: int = 1
    action: str = Field(default="route", max_length=16)
    explanation: dict[str, Any] | None = json_field()
    created_at: datetime | None = ts_field(nullable=False)


class Event(SQLModel, table=True):
    __tablename__ = "event"
    # an item's events in order, and its latest (max(id) WHERE item_id = ?) in one probe
    __table_args__ = (Index("ix_event_kind_created", "kind", "created_at"), Index("ix_event_item", "item_id", "id"))
    id: int | None = Field(default=None, primary_key=True)
    item_id: int | None = Field(default=None)
    kind: str = Field(max_length=32)  # routed, claimed, released, note, transfer, status, breach...
    actor: str | None = Field(default=None, max_length=64)
    team: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] | None = json_field()
    created_at: datetime | None = ts_field(nullable=False)


class Correction(SQLModel, table=True):
    __tablename__ = "correction"
    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", index=True, ondelete="CASCADE")
    from_team: str = Field(max_length=64)
    to_team: str = Field(max_length=64)
    label: str = Field(max_length=32)
    predicted_label: str | None = Field(default=None, max_length=32)
    reason: str
    actor: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = ts_field(nullable=False, index=True)
