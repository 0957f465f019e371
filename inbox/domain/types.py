"""Domain objects handed out by the repository layer and used by the service and the web app."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Prediction", "Decision", "UserInfo", "ItemSummary", "QueueRow", "ROLES"]

ROLES = ("agent", "lead", "manager", "admin")


@dataclass(frozen=True, slots=True)
class Prediction:
    """The classifier's answer for one text."""

    label: str
    confidence: float
    probabilities: dict[str, float]
    model_version: str | None = None
    explanation: dict[str, list[tuple[str, float]]] | None = None


@dataclass(slots=True)
class Decision:
    """Where a mention goes and why (stored as a routing_decision row)."""

    team: str | None            # None: not queued (ignored or a repost)
    action: str                 # route | spam | ignore | repost
    priority: int
    watchers: list[str]
    reason: str
    rule: str | None = None
    label: str | None = None
    confidence: float | None = None
    probabilities: dict[str, float] | None = None
    model_version: str | None = None
    explanation: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    role: str
    teams: tuple[str, ...]
    display_name: str = ""
    locale: str | None = None
    capacity: int = 10
    available: bool = True
    shortcuts: str | None = None  # keyboard shortcut preferences, JSON (inbox/web/shortcuts.py)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_all_metrics(self) -> bool:
        return self.role in ("manager", "admin")


@dataclass(slots=True)
class ItemSummary:
    id: int
    team: str
    status: str
    priority: int
    label: str | None
    confidence: float | None
    watchers: list[str]
    assignee: str | None
    text: str
    source: str
    author: str | None
    lang: str | None
    url: str | None
    created_at: datetime | None
    routed_at: datetime | None
    first_response_due: datetime | None
    resolve_due: datetime | None
    extra: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__ if k != "extra"}
        for k, v in list(d.items()):
            if isinstance(v, datetime):
                d[k] = v.isoformat()
        d.update(self.extra)
        return d


@dataclass(slots=True)
class QueueRow:
    """What a row of an item list shows (``item_row`` in macros.html: a queue page, an item's
    conversation): the item's number, status, priority and team, its mention's source, author and
    text, and its deadlines (``extra`` holds ``first_touched_at`` and ``resolved_at``, as an
    ItemSummary's does, for ``running_deadline``). Lists read these instead of whole summaries: no
    assignee, routing decision, labels or watchers to read and convert for rows that do not show them."""

    id: int
    team: str
    status: str
    priority: int
    text: str
    source: str
    author: str | None
    first_response_due: datetime | None
    resolve_due: datetime | None
    extra: dict[str, Any] = field(default_factory=dict)
