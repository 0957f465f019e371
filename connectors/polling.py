"""The shared poll loop. Platform connectors subclass :class:`PollingConnector`, declare their
shape as class attributes and override two hooks:

* ``streams()``: the independent things to poll (one per query term, per instance+term, per feed);
* ``poll_stream(stream, state, started)``: page through one stream from its saved ``state`` and
  return a :class:`StreamOutcome` (mentions, rejects, the stream's next state).

Cursor layout (what ``poll`` returns and gets back; JSON-serialisable)::

    {"v": 1, "streams": {"<stream key>": {...per-platform state...}},
     "recent": {"<external_id>": <edited_at epoch or 0>}}      # only with several streams

Rules kept here for every platform: mentions are deduplicated across streams by ``external_id``
(first wins), also across polls through ``recent`` (when one stream failed and is re-read later,
what another stream already delivered is not delivered again, unless it was edited since); a
stream that raises keeps its old state and is reported in ``PollResult.errors``
while the others go on; when every stream fails, the first error is raised. Nothing is saved
anywhere: the caller stores the returned cursor after committing the mentions.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

import structlog

from .base import Mention, PollResult, Reject, StreamError
from .config import ConnectorSettings
from .errors import ConnectorError, RateLimited
from .http import HttpClient

__all__ = ["CURSOR_VERSION", "Stream", "StreamOutcome", "SeenSet", "PollingConnector", "clamp"]

CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class Stream:
    """One independently cursored part of a connector. ``key`` names it in the cursor."""

    key: str
    label: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class StreamOutcome:
    mentions: list[Mention]
    state: dict[str, Any]
    rejects: list[Reject] = field(default_factory=list)
    pages: int = 0
    capped: bool = False


def clamp(when: datetime, started: datetime) -> datetime:
    """A watermark never moves past the poll's start time (items dated in the future)."""
    return min(when, started)


class SeenSet:
    """Recently seen ids with a timestamp (epoch seconds), bounded when saved.

    Timestamp streams store the items at or after ``watermark - overlap`` (the overlap they
    re-read); feeds store the ids with the time they were last seen.
    """

    def __init__(self, data: Mapping[str, float] | list[str] | None = None) -> None:
        if isinstance(data, list):
            self._items: dict[str, float] = {str(key): 0.0 for key in data}
        else:
            self._items = {str(k): float(v) for k, v in (data or {}).items()}

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str, default: float) -> float:
        return self._items.get(key, default)

    def add(self, key: str, ts: float) -> None:
        """Remember ``key`` (moving it to the newest end)."""
        self._items.pop(key, None)
        self._items[key] = ts

    def dump(self, *, limit: int, floor: float | None = None, by_insertion: bool = False) -> dict[str, float]:
        """The set to save: entries at or after ``floor``, the newest ``limit`` of them (by
        timestamp, or by when they were added)."""
        kept = [(k, v) for k, v in self._items.items() if floor is None or v >= floor]
        if not by_insertion:
            kept.sort(key=lambda kv: kv[1])
        return dict(kept[-limit:])


S = TypeVar("S", bound=Stream)


class PollingConnector(Generic[S]):
    """Base of the polling connectors. Subclasses set the class attributes and the two hooks."""

    type: ClassVar[str]
    default_page_size: ClassVar[int] = 50
    max_page_size: ClassVar[int] = 100
    default_overlap: ClassVar[timedelta] = timedelta(minutes=5)
    seen_limit: ClassVar[int] = 1000
    recent_limit: ClassVar[int] = 1000
    redact_urls: ClassVar[bool] = False

    def __init__(self, settings: ConnectorSettings, http: HttpClient, *, env: Mapping[str, str]) -> None:
        if settings.type != self.type:
            raise ValueError(f"{type(self).__name__} cannot run a {settings.type} connector")
        self.settings = settings
        self.name = settings.name
        self.env = env
        self.http = http.scope(
            settings.name, allow_private_hosts=settings.allow_private_hosts,
            timeout=settings.timeout, redact_urls=self.redact_urls,
        )
        self.page_size = min(settings.page_size or self.default_page_size, self.max_page_size)
        self.overlap = settings.overlap or self.default_overlap
        self.max_pages = settings.max_pages
        self.log = structlog.get_logger(f"connectors.{self.type}").bind(connector=self.name)

    # -- hooks -------------------------------------------------------------------------------
    def streams(self) -> list[S]:
        """The streams this connector polls, in order."""
        raise NotImplementedError

    async def poll_stream(self, stream: S, state: dict[str, Any], started: datetime) -> StreamOutcome:
        """Fetch everything newer than ``state`` for one stream (``state`` is {} on a first run)."""
        raise NotImplementedError

    # -- the loop ----------------------------------------------------------------------------
    @property
    def stats(self) -> Any:
        """This connector's :class:`connectors.http.HttpStats`."""
        return self.http.stats

    def env_secret(self, variable: str | None) -> str | None:
        """The value of the environment variable named ``variable`` (None when unset)."""
        return self.env.get(variable) if variable else None

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        """Poll every stream once; see the module docstring for the cursor and error rules."""
        started = self.http.now()
        previous: dict[str, Any] = {}
        recent = SeenSet()
        if cursor and cursor.get("v") == CURSOR_VERSION and isinstance(cursor.get("streams"), dict):
            previous = cursor["streams"]
            recent = SeenSet(cursor.get("recent") if isinstance(cursor.get("recent"), dict) else None)
        requests_before = self.http.stats.requests
        streams = self.streams()
        mentions: list[Mention] = []
        seen_ids: set[str] = set()
        rejects: list[Reject] = []
        errors: list[StreamError] = []
        failures: list[ConnectorError] = []
        states: dict[str, Any] = {}
        pages = 0
        for stream in streams:
            old = previous.get(stream.key)
            try:
                outcome = await self.poll_stream(stream, dict(old) if isinstance(old, dict) else {}, started)
            except ConnectorError as exc:
                failures.append(exc)
                retry_at = exc.retry_at if isinstance(exc, RateLimited) else None
                errors.append(StreamError(stream.label, exc.kind, str(exc), retry_at))
                self.log.warning("poll.stream_failed", stream=stream.label, error_kind=exc.kind, error=str(exc))
                if old is not None:
                    states[stream.key] = old
                continue
            states[stream.key] = outcome.state
            pages += outcome.pages
            rejects.extend(outcome.rejects)
            if outcome.capped:
                errors.append(StreamError(stream.label, "truncated", f"stopped after {outcome.pages} pages"))
            for mention in outcome.mentions:
                edited = mention.edited_at.timestamp() if mention.edited_at else 0.0
                if mention.external_id in seen_ids or recent.get(mention.external_id, -1.0) >= edited:
                    continue
                seen_ids.add(mention.external_id)
                mentions.append(mention)
        requests = self.http.stats.requests - requests_before
        if streams and len(failures) == len(streams):
            self.log.warning("poll.failed", requests=requests, error_kind=failures[0].kind)
            raise failures[0]
        self.log.info(
            "poll.finished", mentions=len(mentions), rejects=len(rejects), requests=requests,
            pages=pages, failed_streams=len(failures),
        )
        new_cursor: dict[str, Any] = {"v": CURSOR_VERSION, "streams": states}
        if len(streams) > 1:
            for mention in mentions:
                recent.add(mention.external_id, mention.edited_at.timestamp() if mention.edited_at else 0.0)
            new_cursor["recent"] = recent.dump(limit=self.recent_limit, by_insertion=True)
        return PollResult(
            mentions=mentions, cursor=new_cursor, rejects=rejects,
            requests=requests, pages=pages, errors=errors,
        )
