"""The tables (SQLModel over SQLAlchemy), one module per part of the product: who works
(:mod:`.people`), what came in (:mod:`.mentions`), the work on it (:mod:`.work`), replies
(:mod:`.replies`), what people are told (:mod:`.alerts`), their saved views (:mod:`.saved_views`) and
running the service (:mod:`.operations`). Importing this package registers every table in ``metadata``.
Timestamps are timezone-aware UTC.
"""
from __future__ import annotations

from sqlmodel import SQLModel

from inbox.storage.tables.alerts import Crisis, DigestRecipient, DigestRun, Notification, UserNotification
from inbox.storage.tables.mentions import ContextPost, DeadLetter, Mention, MentionRevision, Tombstone
from inbox.storage.tables.operations import ConfigRevision, ConnectorState, ControlMessage, ModelVersion
from inbox.storage.tables.people import ApiToken, LoginAttempt, LoginThrottle, Membership, Team, User
from inbox.storage.tables.replies import Reply, ReplyStatus
from inbox.storage.tables.saved_views import SavedView
from inbox.storage.tables.work import Correction, Event, ItemStatus, QueueItem, RoutingDecision

__all__ = ["Team", "User", "Membership", "ApiToken", "Mention", "QueueItem", "RoutingDecision",
           "Event", "Correction", "ConnectorState", "MentionRevision", "DeadLetter", "ModelVersion", "LoginAttempt",
           "LoginThrottle", "Crisis", "Notification", "ControlMessage", "DigestRecipient", "DigestRun", "Reply",
           "ReplyStatus", "Tombstone", "ContextPost", "ConfigRevision", "UserNotification", "ItemStatus", "SavedView",
           "metadata"]

metadata = SQLModel.metadata
