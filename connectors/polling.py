"""The shared poll loop. Platform connectors subclass :class:`PollingConnector`, declare their
shape as class attributes and override two hooks:

* ``streams()``: the independent things to poll (one per query term, per instance+term, per feed);
* ``poll_stream(stream, state, started)``: page through one stream from its saved ``state`` and
  return a :class:`StreamOutcome` (mentions, rejects, the stream's next state); or, for a walk
  that can resume after any page, ``stream_pages(...)``: yield each :class:`StreamPage` with the
  state to resume from, so that a long walk is stored in batches while it goes on
  (``poll_batches``; the inbox commits batch k while batch k+1 is fetched).

Cursor layout (what ``poll`` returns and gets back; JSON-serialisable)::

    {"v": 1, "streams": {"<stream key>": {...per-platform state...}},
     "recent": {"<external_id>": <edited_at epoch or 0>},      # only with several streams
     "rejected": {"<reject key>": <epoch>}}                    # bad items already dead-lettered

Rules kept here for every platform: mentions are deduplicated across streams by ``external_id``
(first wins), also across polls through ``recent`` (when one stream failed and is re-read later,
what another stream already delivered is not delivered again, unless it was edited since);
rejects are remembered like accepted items (``rejected``, keyed by the item's platform identity
and the reason, or by a digest of its raw payload), so a bad item that every poll sees again is
dead-lettered once; warnings (:class:`SourceWarning`) get the stream's label; a
stream that raises keeps its old state (or the state of the last page it handed over) and is
reported in ``PollResult.errors`` while the others go on; when every stream fails, the first
error is raised (after a last batch with what was handed over before). Nothing is saved
anywhere: the caller stores each returned cursor after committing that batch's mentions.
"""
from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

import structlog

from .base import Mention, PollResult, Reject, SourceWarning, StreamError
from .config import ConnectorSettings
from .errors import ConnectorError, RateLimited
from .http import HttpClient
from .normalize import UNREADABLE_DATE

__all__ = ["CURSOR_VERSION", "Stream", "StreamOutcome", "StreamPage", "SeenSet", "PollingConnector", "clamp",
           "merge_batches", "reject_key"]

CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class Stream:
    """One independently cursored part of a connector. ``key`` names it in the cursor."""

    key: str
    label: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class StreamOutcome:
    """What one stream's walk produced. ``read`` counts the items understood, already seen ones
    included (None: as many as ``mentions``)."""

    mentions: list[Mention]
    state: dict[str, Any]
    rejects: list[Reject] = field(default_factory=list)
    pages: int = 0
    capped: bool = False
    warnings: list[SourceWarning] = field(default_factory=list)
    read: int | None = None


@dataclass(slots=True)
class StreamPage:
    """One page of a stream, as :meth:`PollingConnector.stream_pages` yields it.

    ``state`` is the stream state to resume from once this page and the ones before it are
    stored, or None while the walk cannot resume mid-way (a newest-first walk only knows its
    new watermark at the end): such pages are held back until a page with a state arrives.
    """

    mentions: list[Mention]
    state: dict[str, Any] | None
    rejects: list[Reject] = field(default_factory=list)
    pages: int = 1
    capped: bool = False
    warnings: list[SourceWarning] = field(default_factory=list)
    read: int | None = None


@dataclass(slots=True)
class _Held:
    """Pages of one stream read but not handed over yet (or, in ``poll_batches``, the total)."""

    mentions: list[Mention] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[SourceWarning] = field(default_factory=list)
    pages: int = 0
    read: int = 0

    def add(self, page: StreamPage) -> None:
        self.mentions.extend(page.mentions)
        self.rejects.extend(page.rejects)
        self.warnings.extend(page.warnings)
        self.pages += page.pages
        self.read += len(page.mentions) if page.read is None else page.read

    def clear(self) -> None:
        self.mentions, self.rejects, self.warnings, self.pages, self.read = [], [], [], 0, 0


@dataclass(slots=True)
class _Batch:
    requests_before: int
    mentions: list[Mention] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    errors: list[StreamError] = field(default_factory=list)
    warnings: list[SourceWarning] = field(default_factory=list)
    pages: int = 0
    read: int = 0

    def result(self, requests_now: int, cursor: dict[str, Any]) -> PollResult:
        return PollResult(mentions=self.mentions, cursor=cursor, rejects=self.rejects,
                          requests=requests_now - self.requests_before, pages=self.pages, errors=self.errors,
                          warnings=self.warnings, read=self.read)


def merge_batches(batches: Sequence[PollResult]) -> PollResult:
    """One :class:`PollResult` for a whole poll: every batch's items, the last batch's cursor."""
    if not batches:
        raise ValueError("a poll hands over at least one batch")
    return PollResult(
        mentions=[m for b in batches for m in b.mentions], cursor=batches[-1].cursor,
        rejects=[r for b in batches for r in b.rejects], requests=sum(b.requests for b in batches),
        pages=sum(b.pages for b in batches), errors=[e for b in batches for e in b.errors],
        warnings=[w for b in batches for w in b.warnings], read=sum(b.read for b in batches),
    )


def reject_key(reject: Reject) -> str:
    """What identifies a reject across polls: the item's platform identity and the reason when
    the connector could read the identity, else a digest of the reason and the raw payload."""
    basis = f"{reject.key}\x00{reject.reason}" if reject.key else f"{reject.reason}\x00{reject.raw}"
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:24]


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
    rejected_limit: ClassVar[int] = 2000
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
        """Fetch everything newer than ``state`` for one stream (``state`` is {} on a first run).
        A connector overrides this hook or :meth:`stream_pages`."""
        held = _Held()
        capped, new_state = False, state
        async with aclosing(self.stream_pages(stream, state, started)) as walk:
            async for page in walk:
                held.add(page)
                capped = page.capped
                new_state = page.state if page.state is not None else new_state
        return StreamOutcome(held.mentions, new_state, held.rejects, held.pages, capped, held.warnings, held.read)

    async def stream_pages(
        self, stream: S, state: dict[str, Any], started: datetime
    ) -> AsyncGenerator[StreamPage, None]:
        """The pages of one stream as they are read. By default, :meth:`poll_stream`'s whole
        walk as one page; a walk that can resume after any page (oldest first, such as
        Mastodon's ``min_id``) overrides this to hand its pages over one by one."""
        outcome = await self.poll_stream(stream, state, started)
        yield StreamPage(outcome.mentions, outcome.state, outcome.rejects, outcome.pages, outcome.capped,
                         outcome.warnings, outcome.read)

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
        batches = [batch async for batch in self.poll_batches(cursor)]
        return merge_batches(batches)

    async def poll_batches(
        self, cursor: dict[str, Any] | None, *, batch_size: int | None = None
    ) -> AsyncGenerator[PollResult, None]:
        """Poll every stream once, handing the mentions over in batches of about ``batch_size``
        (all in one batch when None); the contract is :class:`connectors.base.BatchedConnector`.

        A stream's pages are held back until a page says where the stream could resume
        (:class:`StreamPage` ``state``); only then do they join a batch, with that state in the
        batch's cursor. Streams not reached yet keep their old state in it, so a batch's cursor
        is never ahead of the mentions handed over up to and including that batch.
        """
        started = self.http.now()
        previous: dict[str, Any] = {}
        recent = SeenSet()
        rejected = SeenSet()
        if cursor and cursor.get("v") == CURSOR_VERSION and isinstance(cursor.get("streams"), dict):
            previous = cursor["streams"]
            recent = SeenSet(cursor.get("recent") if isinstance(cursor.get("recent"), dict) else None)
            rejected = SeenSet(cursor.get("rejected") if isinstance(cursor.get("rejected"), dict) else None)
        streams = self.streams()
        requests_before = self.http.stats.requests
        batch = _Batch(requests_before)
        seen_ids: set[str] = set()
        failures: list[ConnectorError] = []
        states: dict[str, Any] = {}
        handed = _Held()  # what earlier batches carried, for the summary line

        def cursor_now(final: bool) -> dict[str, Any]:
            kept = states if final else {
                **{s.key: previous[s.key] for s in streams if isinstance(previous.get(s.key), dict)}, **states}
            new_cursor: dict[str, Any] = {"v": CURSOR_VERSION, "streams": dict(kept)}
            if len(streams) > 1:
                new_cursor["recent"] = recent.dump(limit=self.recent_limit, by_insertion=True)
            if len(rejected):
                new_cursor["rejected"] = rejected.dump(limit=self.rejected_limit, by_insertion=True)
            return new_cursor

        def release(stream: S, held: _Held, state: dict[str, Any]) -> None:
            states[stream.key] = state
            batch.pages += held.pages
            batch.read += held.read
            batch.warnings.extend(SourceWarning(w.kind, w.message, w.stream or stream.label) for w in held.warnings)
            undated = [m.provenance["created_at"] for m in held.mentions
                       if UNREADABLE_DATE in m.provenance.get("created_at", "")]
            if undated:
                batch.warnings.append(SourceWarning(
                    "date", f"{len(undated)} items had a date that could not be read; created_at taken from "
                            f"{undated[0]}", stream.label))
            for reject in held.rejects:
                key = reject_key(reject)
                if key not in rejected:
                    batch.rejects.append(reject)
                rejected.add(key, started.timestamp())
            for mention in held.mentions:
                edited = mention.edited_at.timestamp() if mention.edited_at else 0.0
                if mention.external_id in seen_ids or recent.get(mention.external_id, -1.0) >= edited:
                    continue
                seen_ids.add(mention.external_id)
                batch.mentions.append(mention)
                if len(streams) > 1:
                    recent.add(mention.external_id, edited)
            held.clear()

        def hand_over(final: bool) -> PollResult:
            nonlocal batch
            done = batch.result(self.http.stats.requests, cursor_now(final))
            handed.pages += done.pages
            handed.mentions.extend(done.mentions)
            handed.rejects.extend(done.rejects)
            handed.warnings.extend(done.warnings)
            batch = _Batch(self.http.stats.requests)
            return done

        for stream in streams:
            old = previous.get(stream.key)
            held = _Held()
            capped = False
            stream_pages = 0
            try:
                async with aclosing(
                    self.stream_pages(stream, dict(old) if isinstance(old, dict) else {}, started)
                ) as pages:
                    async for page in pages:
                        held.add(page)
                        stream_pages += page.pages
                        capped = page.capped
                        if page.state is not None:
                            release(stream, held, page.state)
                        if batch_size is not None and len(batch.mentions) >= batch_size:
                            yield hand_over(final=False)
                if held.pages or stream.key not in states:  # the walk ended without a state: keep the old one
                    release(stream, held, states.get(stream.key, dict(old) if isinstance(old, dict) else {}))
            except ConnectorError as exc:
                failures.append(exc)
                retry_at = exc.retry_at if isinstance(exc, RateLimited) else None
                batch.errors.append(StreamError(stream.label, exc.kind, str(exc), retry_at))
                self.log.warning("poll.stream_failed", stream=stream.label, error_kind=exc.kind, error=str(exc))
                if stream.key not in states and old is not None:
                    states[stream.key] = old
                continue
            if capped:
                batch.errors.append(StreamError(stream.label, "truncated", f"stopped after {stream_pages} pages"))
        requests = self.http.stats.requests - requests_before
        if streams and len(failures) == len(streams):
            if batch.mentions or batch.rejects:  # what was handed over before the failures stands
                batch.errors.clear()
                yield hand_over(final=False)
            self.log.warning("poll.failed", requests=requests, error_kind=failures[0].kind)
            raise failures[0]
        self.log.info(
            "poll.finished", mentions=len(handed.mentions) + len(batch.mentions),
            rejects=len(handed.rejects) + len(batch.rejects), warnings=len(handed.warnings) + len(batch.warnings),
            requests=requests,
            pages=handed.pages + batch.pages, failed_streams=len(failures),
        )
        yield hand_over(final=True)

