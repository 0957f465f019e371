"""The tables (SQLModel over SQLAlchemy). Timestamps are timezone-aware UTC.

One queue item per queued mention: ``queue_item.id`` is the mention's id, so "every mention has
at most one owning queue" is a primary-key fact, not a convention.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from inbox.storage.column_types import JSONType, UTCDateTime

__all__ = ["Team", "User", "Membership", "ApiToken", "Mention", "QueueItem", "RoutingDecision",
           "Event", "Correction", "ConnectorState", "MentionRevision", "DeadLetter", "ModelVersion", "LoginAttempt",
           "Crisis", "Notification", "ControlMessage", "DigestRecipient", "DigestRun", "Reply", "ReplyStatus",
           "Tombstone", "ConfigRevision", "UserNotification", "ItemStatus", "metadata"]


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any = None) -> Any:
    kw: dict[str, Any] = {"sa_column": Column(JSONType, nullable=default is None)}
    if default is not None:
        kw["default_factory"] = default
    else:
        kw["default"] = None
    return Field(**kw)


class ItemStatus:
    NEW = "new"
    CLAIMED = "claimed"
    REPLIED = "replied"
    WAITING = "waiting"
    RESOLVED = "resolved"
    SPAM = "spam"
    OPEN = ("new", "claimed", "replied", "waiting")
    ALL = ("new", "claimed", "replied", "waiting", "resolved", "spam")


class Team(SQLModel, table=True):
    __tablename__ = "team"
    name: str = Field(primary_key=True, max_length=64)
    display_name: str = Field(default="", max_length=128)
    private: bool = False
    created_at: datetime | None = _ts()


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(max_length=16)  # agent | lead | manager | admin
    password_hash: str | None = Field(default=None, max_length=256)
    locale: str | None = Field(default=None, max_length=8)
    capacity: int = 10
    available: bool = True
    active: bool = True
    shortcuts: str | None = Field(default=None, sa_type=Text)  # JSON, inbox/web/shortcuts.py
    notify_prefs: str | None = Field(default=None, sa_type=Text)  # JSON, inbox.domain.people_notify.Prefs
    created_at: datetime | None = _ts()


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    team: str = Field(foreign_key="team.name", primary_key=True, max_length=64)
    # round-robin position: the team-wide sequence number of this member's last auto-assignment
    last_assigned_seq: int = 0


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=64)
    created_at: datetime | None = _ts()
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


class Mention(SQLModel, table=True):
    __tablename__ = "mention"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_mention_source_external"),
                      Index("ix_mention_source_thread", "source", "thread_id"))  # a post's conversation
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
    created_at: datetime | None = _ts()
    fetched_at: datetime | None = _ts(nullable=False, index=True)
    reply_to_id: str | None = Field(default=None, max_length=512)
    thread_id: str | None = Field(default=None, max_length=512)
    metrics: dict[str, Any] | None = _json()
    is_repost: bool = False
    original_external_id: str | None = Field(default=None, max_length=512)
    edited_at: datetime | None = _ts()
    deleted: bool = False
    cluster_key: str | None = Field(default=None, max_length=64, index=True)
    raw: Any = _json()
    provenance: dict[str, str] | None = _json()  # where a field came from when not the usual place


class MentionRevision(SQLModel, table=True):
    """A text of a mention that a later edit replaced; ``edited_at`` is when it became current
    (the platform's edit time, or the mention's creation for the first text)."""

    __tablename__ = "mention_revision"
    __table_args__ = (Index("ix_mention_revision_mention", "mention_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", ondelete="CASCADE")
    text: str
    edited_at: datetime | None = _ts()
    recorded_at: datetime | None = _ts(nullable=False)


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
    )
    id: int = Field(foreign_key="mention.id", primary_key=True, ondelete="CASCADE")
    team: str = Field(foreign_key="team.name", max_length=64)
    status: str = Field(default=ItemStatus.NEW, max_length=16)
    priority: int = 1  # 0 low, 1 normal, 2 high, 3 urgent; higher first
    label: str | None = Field(default=None, max_length=32)
    confidence: float | None = None
    watchers: list[str] = _json(list)
    assignee_id: int | None = Field(default=None, foreign_key="user_account.id")
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = _ts(index=True)
    first_response_due: datetime | None = _ts()
    resolve_due: datetime | None = _ts()
    sla_paused_at: datetime | None = _ts()
    first_touched_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    first_response_at: datetime | None = _ts()  # the first reply sent through the inbox: stops the first-response SLA
    breached_first_response: bool = False
    breached_resolution: bool = False
    transfers: int = 0
    bounces: int = 0
    crisis_id: int | None = None
    assigned_at: datetime | None = _ts()  # set by auto-assignment; cleared when the assignee acts
    refined_at: datetime | None = (
        _ts()
    )  # set when the background refiner has looked at the item (inbox/ingest/second_look.py)
    created_at: datetime | None = _ts(nullable=False, index=True)
    updated_at: datetime | None = _ts(nullable=False)


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
    probabilities: dict[str, float] | None = _json()
    model_version: str | None = Field(default=None, max_length=64)
    rule: str | None = Field(default=None, max_length=128)
    reason: str = ""
    watchers: list[str] = _json(list)
    priority: int = 1
    action: str = Field(default="route", max_length=16)
    explanation: dict[str, Any] | None = _json()
    created_at: datetime | None = _ts(nullable=False)


class Event(SQLModel, table=True):
    __tablename__ = "event"
    # an item's events in order, and its latest (max(id) WHERE item_id = ?) in one probe
    __table_args__ = (Index("ix_event_kind_created", "kind", "created_at"), Index("ix_event_item", "item_id", "id"))
    id: int | None = Field(default=None, primary_key=True)
    item_id: int | None = Field(default=None)
    kind: str = Field(max_length=32)  # routed, claimed, released, note, transfer, status, breach...
    actor: str | None = Field(default=None, max_length=64)
    team: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] | None = _json()
    created_at: datetime | None = _ts(nullable=False)


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
    created_at: datetime | None = _ts(nullable=False, index=True)


class ConnectorState(SQLModel, table=True):
    __tablename__ = "connector_state"
    name: str = Field(primary_key=True, max_length=64)
    type: str = Field(default="", max_length=32)
    cursor: dict[str, Any] | None = _json()
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = _ts()
    last_poll_started_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    last_error: str | None = None
    last_error_at: datetime | None = _ts()
    consecutive_failures: int = 0
    mentions_fetched: int = 0
    healthy: bool = True
    health_reason: str | None = None  # why a source that polls fine is unhealthy (source_health.py)
    warnings: list[dict[str, str]] | None = _json()  # the source warnings of the last poll that read anything
    warnings_at: datetime | None = _ts()
    last_poll: dict[str, Any] | None = _json()  # read / stored / rejected / warnings of the last poll
    next_poll_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class DeadLetter(SQLModel, table=True):
    __tablename__ = "dead_letter"
    __table_args__ = (UniqueConstraint("source", "digest", name="uq_dead_letter_source_digest"),)
    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64)  # sha256 of (line number, reason, raw): a replay is stored once
    source: str = Field(max_length=64, index=True)
    line_no: int | None = None
    reason: str
    raw: str
    created_at: datetime | None = _ts(nullable=False)


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_version"
    version: str = Field(primary_key=True, max_length=64)
    path: str
    meta: dict[str, Any] | None = _json()
    active: bool = False
    created_at: datetime | None = _ts(nullable=False)
    promoted_at: datetime | None = _ts()


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempt"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    ok: bool = False
    created_at: datetime | None = _ts(nullable=False, index=True)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per key ("user:NAME", "addr:IP" or "user+addr:NAME|IP") in the current window,
    and until when the key is refused. Updated with one conditional UPDATE per attempt, before the
    password is checked, so concurrent attempts are counted (repo.login_throttle)."""

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    window_start: datetime | None = _ts(nullable=False)
    blocked_until: datetime | None = _ts()


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
    window_start: datetime | None = _ts(nullable=False)
    window_end: datetime | None = _ts(nullable=False)
    count: int = 0
    baseline_mean: float = 0.0
    baseline_std: float = 0.0
    threshold: float = 0.0
    item_id: int | None = None                     # the crisis queue item (a synthetic mention)
    data: dict[str, Any] | None = _json()
    opened_at: datetime | None = _ts(nullable=False)
    last_spike_at: datetime | None = _ts(nullable=False)
    closed_at: datetime | None = _ts()


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
    payload: dict[str, Any] | None = _json()
    status: str = Field(default="pending", max_length=16)  # pending | sending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime | None = _ts(nullable=False)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = _ts()
    last_error: str | None = None
    last_status: int | None = None
    log: list[dict[str, Any]] = _json(list)
    created_at: datetime | None = _ts(nullable=False)
    delivered_at: datetime | None = _ts()


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
    data: dict[str, Any] | None = _json()
    dedupe_key: str = Field(max_length=255)
    created_at: datetime | None = _ts(nullable=False)
    read_at: datetime | None = _ts()


class ControlMessage(SQLModel, table=True):
    """The control channel's log: what every instance must hear about itself (a promoted model,
    changed settings, changed authorisation). Instances read rows newer than the last they saw;
    on PostgreSQL a NOTIFY with the row's id wakes them at once. Rows older than a day are pruned."""

    __tablename__ = "control_message"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)               # model | settings | auth
    payload: dict[str, Any] | None = _json()
    origin: str = Field(default="", max_length=128)  # the instance (or CLI process) that sent it
    created_at: datetime | None = _ts(nullable=False, index=True)

class Tombstone(SQLModel, table=True):
    """A mention erased on request (inbox/work/privacy.py): its key stays so that a later poll,
    import or webhook does not store it again. Nothing else about it is kept."""

    __tablename__ = "tombstone"
    source: str = Field(primary_key=True, max_length=64)
    external_id: str = Field(primary_key=True, max_length=512)
    created_at: datetime | None = _ts(nullable=False)


class ConfigRevision(SQLModel, table=True):
    """One version of one section of the configuration edited in the app (connectors, rules,
    teams): the whole section as the TOML file would hold it. The newest row of a section is in
    force; a rollback writes an older document again as a new row."""

    __tablename__ = "config_revision"
    __table_args__ = (Index("ix_config_revision_section", "section", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    section: str = Field(max_length=32)
    document: list[dict[str, Any]] = _json(list)
    actor: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = _ts(nullable=False)


class DigestRecipient(SQLModel, table=True):
    """Who receives the brief of an audience (a team's name or "executive"), in which language."""

    __tablename__ = "digest_recipient"
    __table_args__ = (UniqueConstraint("audience", "email", name="uq_digest_recipient"),)
    id: int | None = Field(default=None, primary_key=True)
    audience: str = Field(max_length=64)
    email: str = Field(max_length=254)
    lang: str = Field(default="en", max_length=8)
    created_at: datetime | None = _ts(nullable=False)


class DigestRun(SQLModel, table=True):
    """One brief of one audience for one period, with what it said (``brief``, the figures it was
    rendered from) and its delivery to each recipient. Unique per (audience, period_end): the
    instance that inserts the row sends it, so a brief goes out once however many instances run."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("audience", "period_end", name="uq_digest_run_period"),
                      Index("ix_digest_run_created", "created_at"))
    id: int | None = Field(default=None, primary_key=True)
    audience: str = Field(max_length=64)
    period_start: datetime | None = _ts(nullable=False)
    period_end: datetime | None = _ts(nullable=False)
    status: str = Field(default="sending", max_length=16)  # sending | sent | failed
    brief: dict[str, Any] | None = _json()
    deliveries: list[dict[str, Any]] = _json(list)     # [{email, lang, ok, error, at}]
    attempts: int = 0
    lease_expires_at: datetime | None = _ts()
    created_at: datetime | None = _ts(nullable=False)
    sent_at: datetime | None = _ts()


# the reply outbox's table lives in its own module; importing it registers it in ``metadata``
from inbox.storage.reply_table import Reply, ReplyStatus  # noqa: E402

metadata = SQLModel.metadata
