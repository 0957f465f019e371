"""Request and response models of the item, queue, metrics and health endpoints (inbox.web.api)."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from inbox.settings import parse_duration
from inbox.web.models import Body, Item, ItemId, NonBlank, Out, Params, QueryInt, TeamName, Timestamp
from inbox.web.reply_models import EarlierMention, ReplyInfo, ReplyOut, ThreadPost

__all__ = ["ItemPath", "TeamPath", "QueueItemsQuery", "MetricsQuery", "TransferBody", "NoteBody", "StatusBody",
           "EmptyBody", "Queue", "QueueList", "QueuePage", "Claimed", "ItemDetail", "Metrics", "Health",
           "MAX_PERIOD", "STATUS_LIST_PATTERN"]

MAX_PERIOD = timedelta(days=3660)
_ST = "(new|claimed|replied|waiting|resolved|spam)"
STATUS_LIST_PATTERN = f"^(open|{_ST}(,{_ST})*)$"
DURATION_PATTERN = "^[0-9]{1,7}(\\.[0-9]{1,3})?[smhdw]$"


class ItemPath(Params):
    id: ItemId


class TeamPath(Params):
    team: TeamName


class QueueItemsQuery(Params):
    status: Annotated[str, Field(pattern=STATUS_LIST_PATTERN, max_length=200, description=(
        "'open' (new, claimed, replied, waiting) or a comma-separated list of statuses"))] = "open"
    limit: QueryInt = Field(50, ge=1, le=200)
    offset: QueryInt = Field(0, ge=0, le=10_000_000)

    def statuses(self) -> tuple[str, ...]:
        if self.status == "open":
            return ("new", "claimed", "replied", "waiting")
        return tuple(dict.fromkeys(self.status.split(",")))


class MetricsQuery(Params):
    since: Annotated[str, Field(pattern=DURATION_PATTERN, description=(
        "how far back: a number and a unit (s, m, h, d, w), at most 3660 days"))] = "7d"
    team: TeamName | None = None

    @field_validator("since")
    @classmethod
    def _in_range(cls, v: str) -> str:
        if parse_duration(v) > MAX_PERIOD:
            raise ValueError("is longer than 3660 days")
        return v

    def period(self) -> timedelta:
        return parse_duration(self.since)


class TransferBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"team": "marketing", "reason": "a product question"}]})
    team: TeamName
    reason: Annotated[NonBlank, Field(max_length=1000)]


class NoteBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "called the customer back"}]})
    text: Annotated[NonBlank, Field(max_length=5000)]


class StatusBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "waiting"}]})
    status: Literal["claimed", "replied", "waiting", "resolved", "spam"]


class EmptyBody(Body):
    """No fields (an empty body or ``{}``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{}]})


class Queue(Out):
    team: str
    display_name: str
    private: bool
    open: int
    new: int
    overdue: int
    oldest_age_seconds: int | None


class QueueList(Out):
    queues: list[Queue]


class QueuePage(Out):
    team: str
    items: list[Item]
    limit: int
    offset: int
    next_offset: int | None


class Claimed(Out):
    item: Item | None = Field(description="null when the queue has nothing to claim")


class MentionInfo(Out):
    platform: str
    external_id: str
    author_name: str | None
    author_followers: int | None
    reply_to_id: str | None
    thread_id: str | None
    metrics: dict[str, Any] | None
    is_repost: bool
    edited_at: Timestamp | None
    provenance: dict[str, str] | None = Field(
        None, description="where a field came from when it is not the platform's usual place, by field: "
                          "'created_at' names the timestamp used instead (another field of the post, or the "
                          "fetch time, with why), 'encoding' how the text was decoded when its source "
                          "declared no charset or a wrong one; null when all is usual")


class Revision(Out):
    """An earlier text of an edited mention."""

    text: str
    edited_at: Timestamp | None = Field(description="when this text became current (the post's time, or the "
                                                    "edit before it)")
    recorded_at: Timestamp = Field(description="when the inbox stored the edit that replaced it")


class DecisionInfo(Out):
    team: str | None
    label: str | None
    confidence: float | None
    probabilities: dict[str, float] | None
    model_version: str | None
    rule: str | None
    reason: str
    watchers: list[str]
    priority: int
    action: str
    explanation: dict[str, Any] | None
    created_at: Timestamp


class Note(Out):
    author: str | None
    text: str | None
    created_at: Timestamp


class HistoryEntry(Out):
    kind: str
    actor: str | None
    team: str | None
    data: dict[str, Any]
    created_at: Timestamp


class ItemDetail(Out):
    item: Item
    mention: MentionInfo | None
    decision: DecisionInfo | None
    notes: list[Note]
    history: list[HistoryEntry]
    revisions: list[Revision] = Field(default_factory=list,
                                      description="the mention's earlier texts when it was edited, newest first "
                                                  "(the current text and its edited_at are the item's and the "
                                                  "mention's)")
    # the reply part (inbox.web.replies_api.reply_detail)
    replies: list[ReplyOut] = Field(default_factory=list, description="answers sent (or on their way) from here")
    parent: ThreadPost | None = Field(None, description="the post this mention answers, when the platform names one")
    root: ThreadPost | None = Field(None, description="the thread's first post, when it is not the parent")
    earlier_mentions: list[EarlierMention] = Field(default_factory=list,
                                                   description="the author's earlier mentions on this source")
    reply_info: ReplyInfo | None = None
    first_response_at: Timestamp | None = Field(None, description="when the first reply went out (SLA clock stopped)")


class Metrics(Out):
    """Routing metrics over a period (see inbox.work.routing_metrics for each section)."""

    period: dict[str, Any]
    volume: dict[str, Any]
    time_to_first_touch: dict[str, Any]
    time_to_resolve: dict[str, Any]
    sla: dict[str, Any]
    backlog: dict[str, Any]
    transfers: dict[str, Any]
    model_accuracy: dict[str, Any]
    crises: dict[str, Any]
    notifications: dict[str, Any]
    refiner: dict[str, Any]
    replies: dict[str, Any] = Field(default_factory=dict, description="replies sent from here, time to first reply")


class SourceWarning(Out):
    """Something the last poll that read anything had to guess at (nothing was lost)."""

    kind: str = Field(description="lenient_parse, encoding, date ...")
    stream: str
    message: str


class ConnectorHealth(Out):
    name: str
    type: str
    healthy: bool
    polled: bool = Field(True, description="false for a configured source that has not been polled yet (then "
                                           "healthy is false and reason says so)")
    last_success_at: Timestamp | None
    last_error: str | None
    last_error_at: Timestamp | None
    consecutive_failures: int
    lag_seconds: int | None
    mentions_fetched: int
    replies: str | None = Field(None, description=(
        "'ready' when the connector sends replies, the reason when it is set up for them but cannot "
        "(its credential variable is not set), null when it takes no replies"))
    reason: str | None = Field(default=None, description="why a source whose polls succeed is unhealthy: its last "
                                                         "poll read no item, only dead-lettered ones or warnings")
    warnings: list[SourceWarning] = Field(default_factory=list)
    warnings_at: Timestamp | None = None
    last_poll: dict[str, Any] | None = Field(default=None, description="read, rejected, warnings of the last poll")


class Health(Out):
    status: Literal["ok", "degraded"]
    database: str
    model_version: str | None
    connectors: list[ConnectorHealth]
