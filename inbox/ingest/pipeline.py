"""The ingest pipeline: a batch of normalized mentions (from a connector, a webhook or an import)
becomes stored mentions, routing decisions, queue items and audit events in ONE transaction, with
the connector's new cursor when there is one. Invalid items go to the dead-letter table; the rest of
the batch goes on. Duplicates on (source, external_id) are skipped, so a batch can be replayed."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.base import Mention, Reject
from inbox import faultpoints
from inbox.domain import near_duplicates, sla_calendar
from inbox.domain.clock import Clock
from inbox.domain.router import MentionFacts, Router
from inbox.domain.types import Decision, Prediction
from inbox.ingest.classifier import ClassifierHolder
from inbox.ingest.edits import apply_edits, find_edits
from inbox.settings import Settings
from inbox.storage.engine import snapshot_reader
from inbox.storage.repo import connector_state, items, mentions, pubsub
from inbox.storage.tables import ItemStatus
from inbox.storage.write_units import write_units

__all__ = ["Pipeline", "IngestResult", "CursorUpdate", "MAX_TEXT"]

log = structlog.get_logger(__name__)

MAX_TEXT = 20_000          # characters kept of a mention's text
MAX_RAW = 256_000          # bytes kept of a raw payload
_LANG_DETECT = None


def _detect_languages(texts: list[str]) -> list[str | None]:
    global _LANG_DETECT
    if _LANG_DETECT is None:
        from routing_models import lang
        _LANG_DETECT = getattr(lang, "detect_languages", None) or (lambda ts: [lang.detect_language(t) for t in ts])
    return list(_LANG_DETECT(texts))


@dataclass(slots=True)
class CursorUpdate:
    """The connector state to save in the same transaction as the batch."""

    connector: str
    owner: str
    cursor: dict[str, Any]
    fetched: int
    lease_for: timedelta | None = None  # the poll's lease, renewed by this much with each batch it stores


@dataclass(slots=True)
class IngestResult:
    read: int = 0
    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    reposts: int = 0
    queued: int = 0
    triaged: int = 0
    edited: int = 0
    item_ids: list[int] = field(default_factory=list)
    teams: dict[str, int] = field(default_factory=dict)
    cursor_saved: bool | None = None

    def summary(self) -> dict[str, Any]:
        return {"read": self.read, "ingested": self.ingested, "duplicates": self.duplicates,
                "rejected": self.rejected, "reposts": self.reposts, "queued": self.queued,
                "triaged": self.triaged, "edited": self.edited, "teams": dict(sorted(self.teams.items()))}


def _validate(m: Mention) -> str | None:
    if not isinstance(m.external_id, str) or not m.external_id.strip():
        return "external_id is empty"
    if len(m.external_id) > 512:
        return "external_id longer than 512 characters"
    if not isinstance(m.text, str) or not m.text.strip():
        return "text is empty"
    if len(m.source) > 64 or not m.source:
        return "source is empty or longer than 64 characters"
    if m.created_at is not None and m.created_at.tzinfo is None:
        return "created_at has no time zone"
    if m.created_at is not None and not (1990 <= m.created_at.year <= 2100):
        return f"created_at {m.created_at.isoformat()} is out of range"
    return None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL text/jsonb) and lone surrogates (UTF-8)
_MAX_RAW_DEPTH = 64
_STR_FIELDS = ("source", "platform", "external_id", "text", "url", "author_handle", "author_name", "language",
               "reply_to_id", "thread_id", "original_external_id")


def _clean(s: str) -> str:
    """Text every back end stores: NUL removed, lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(lambda c: "" if c.group() == "\x00" else "\ufffd", s) if _UNSTORABLE.search(s) else s


def _storable(m: Mention) -> Mention:
    """``m``, or a cleaned copy when a text field holds NUL or a lone surrogate (a hostile source
    must not fail the whole batch, forever, on one item)."""
    values = [v for f in _STR_FIELDS if isinstance(v := getattr(m, f), str)]
    if not _UNSTORABLE.search("\n".join(values)):  # the usual case: one scan for all fields
        return m
    bad: dict[str, Any] = {f: _clean(v) for f in _STR_FIELDS
                           if isinstance(v := getattr(m, f), str) and _UNSTORABLE.search(v)}
    return dataclasses.replace(m, **bad) if bad else m


def _sanitize(o: Any, depth: int = 0) -> Any:
    if depth > _MAX_RAW_DEPTH:
        return "(nested too deeply)"
    if isinstance(o, str):
        return _clean(o)
    if isinstance(o, dict):
        return {_clean(str(k)): _sanitize(v, depth + 1) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_sanitize(v, depth + 1) for v in o]
    if isinstance(o, int) and not isinstance(o, bool) and not -(2 ** 63) <= o < 2 ** 64:
        return str(o)
    return o


def _raw_json(raw: Any) -> Any:
    # serialised as the storage layer will (orjson): what it refuses (lone surrogates, nesting
    # deeper than its limit, huge integers) and what PostgreSQL's jsonb refuses (\u0000) is cleaned
    if raw is None:
        return None
    try:
        s = orjson.dumps(raw, default=str)
    except TypeError:
        raw = _sanitize(raw)
        try:
            s = orjson.dumps(raw, default=str)
        except TypeError:
            return {"repr": _clean(repr(raw)[:MAX_RAW])}
    if len(s) > MAX_RAW:
        return {"truncated": True, "head": s[:MAX_RAW].decode("utf-8", "replace")}
    if b"\\u0000" in s:
        raw = _sanitize(raw)
    return raw if isinstance(raw, (dict, list)) else {"value": raw}


@dataclass(slots=True)
class _Prepared:
    """A batch validated, classified and routed, ready for its transaction."""

    res: IngestResult
    now: datetime
    dead: list[dict[str, Any]]
    mention_rows: list[dict[str, Any]]
    decisions: dict[tuple[str, str], Decision]
    edits: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


class Pipeline:
    """Validate → dedupe → classify → route → store, per batch."""

    def __init__(self, engine: AsyncEngine, settings: Settings, classifier: ClassifierHolder, clock: Clock,
                 *, publish: Callable[[list[int]], Any] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.classifier = classifier
        self.clock = clock
        self.router = Router(settings.routing, settings.rules, settings.private_teams)
        self.publish = publish
        self.writes = write_units(engine)

    def reconfigure(self, settings: Settings) -> None:
        """Route with ``settings`` from the next batch on (the router is shared with the refiner)."""
        self.settings = settings
        self.router.reconfigure(settings.routing, settings.rules, settings.private_teams)

    async def dry_run(self, m: Mention, settings: Settings | None = None) -> Decision:
        """The decision ``m`` would get (language, model, rules of ``settings``, default the ones in
        force), nothing stored: "test the rules" in the admin API."""
        s = settings or self.settings
        text = m.text[:MAX_TEXT]
        lang = m.language or (await asyncio.to_thread(_detect_languages, [text]))[0]
        pred = None if m.is_repost else (await self.classifier.apredict([text]))[0]
        router = self.router if settings is None else Router(s.routing, s.rules, s.private_teams)
        facts = MentionFacts(text=text, source=m.source, platform=m.platform, author=m.author_handle,
                             lang=lang.split("-")[0].lower()[:16] if lang else None, reach=m.author_followers)
        return router.decide(facts, pred, is_repost=m.is_repost)

    async def ingest(self, batch: Sequence[Mention], rejects: Sequence[Reject] = (), *,
                     cursor: CursorUpdate | None = None, read: int | None = None,
                     log_event: str = "ingest_batch") -> IngestResult:
        return await self._commit(await self._prepare(batch, rejects, read), cursor, log_event)

    async def ingest_stream(self, batches: Iterable[tuple[Sequence[Mention], Sequence[Reject], int | None]], *,
                            log_event: str = "ingest_batch") -> AsyncIterator[IngestResult]:
        """:meth:`ingest` for consecutive ``(mentions, rejects, read)`` batches (a file import), in
        order, with batch N+1's CPU work (language, model, routing: worker threads) overlapping
        batch N's transaction. A mention repeated in the next batch is caught by the insert, not by
        the pre-check, and counted as a duplicate all the same. If reading the next batch fails, the
        batches read before it are committed first."""
        it = iter(batches)
        prepared: _Prepared | None = None
        following: asyncio.Future[_Prepared] | None = None
        try:
            while True:
                try:
                    item = next(it, None)
                except BaseException:
                    if prepared is not None:
                        yield await self._commit(prepared, None, log_event)
                    raise
                following = asyncio.ensure_future(self._prepare(*item)) if item is not None else None
                if prepared is not None:
                    yield await self._commit(prepared, None, log_event)
                if following is None:
                    return
                prepared, following = await following, None
        finally:
            if following is not None:  # the stream stopped early: drop the batch being prepared
                following.cancel()
                with contextlib.suppress(BaseException):
                    await following

    async def _prepare(self, batch: Sequence[Mention], rejects: Sequence[Reject], read: int | None) -> _Prepared:
        """Steps 1-4: validate, dedupe, detect languages, classify and route (nothing written)."""
        res = IngestResult(read=read if read is not None else len(batch) + len(rejects))
        now = self.clock.now()
        dead = [{"source": _clean(r.source[:64]), "line_no": r.position, "reason": _clean(r.reason[:2000]),
                 "raw": _clean(r.raw[:MAX_RAW]), "created_at": now} for r in rejects]
        # 1. validate and dedupe within the batch
        seen: set[tuple[str, str]] = set()
        good: list[Mention] = []
        edits: dict[tuple[str, str], dict[str, Any]] = {}
        for m in batch:
            m = _storable(m)
            problem = _validate(m)
            if problem:
                # no line number: a batch position means nothing (the importer validates lines itself
                # and rejects them with their line number), and would store a replayed reject again
                dead.append({"source": (m.source or "?")[:64], "line_no": None, "reason": problem,
                             "raw": json.dumps(_raw_json(m.raw), default=str)[:MAX_RAW], "created_at": now})
                continue
            key = (m.source, m.external_id)
            if key in seen:
                res.duplicates += 1
                continue
            seen.add(key)
            good.append(m)
        res.rejected = len(dead)
        # 2. skip what is already stored before spending CPU on it (the insert below re-checks)
        if good:
            # a read: on SQLite without the write lock (BEGIN IMMEDIATE would queue it behind, and
            # ahead of, the other sources' batches and the agents' claims)
            async with snapshot_reader(self.engine).connect() as conn:
                known = await mentions.existing_keys([(m.source, m.external_id) for m in good], conn=conn)
                # an edit re-delivered: stored again (inbox.ingest.edits), not skipped as a duplicate
                edits = await find_edits([m for m in good if (m.source, m.external_id) in known],
                                         conn=conn) if known else {}
            if known:
                res.duplicates += sum(1 for m in good if (m.source, m.external_id) in known
                                      and (m.source, m.external_id) not in edits)
                good = [m for m in good if (m.source, m.external_id) not in known or (m.source, m.external_id) in edits]
        # 3-4. language, classification and routing of the new ones: CPU work (language ~45 µs a
        # mention, the model ~28 µs, routing ~30 µs) that would hold the event loop and every request
        # waiting on it, so it runs in a worker thread, in one hand-off for the batch
        mention_rows, decisions = await asyncio.to_thread(self._read_and_route, good, now)
        faultpoints.reach("after_classify")
        return _Prepared(res, now, dead, mention_rows, decisions, edits)

    async def _commit(self, prepared: _Prepared, cursor: CursorUpdate | None, log_event: str) -> IngestResult:
        """Step 5: one transaction for the prepared batch, then the log line and the live update."""
        res, now, dead, decisions, edits = (prepared.res, prepared.now, prepared.dead, prepared.decisions,
                                            prepared.edits)
        mention_rows = [r for r in prepared.mention_rows if (r["source"], r["external_id"]) not in edits]
        edit_rows = [r for r in prepared.mention_rows if (r["source"], r["external_id"]) in edits]
        # 5. one transaction: mentions, decisions, items, events, dead letters, cursor: a bulk write
        # unit (on SQLite one hand-off to the writer thread, queued behind the agents' claims)
        def store(c: Connection) -> None:
            ids = mentions.insert_mentions_sync(c, mention_rows) if mention_rows else {}
            res.duplicates += len(mention_rows) - len(ids)
            res.ingested = len(ids)
            self._store_routing(c, ids, decisions, now, res)
            if edit_rows:
                res.edited, rerouted = apply_edits(c, edit_rows, edits, decisions, self.settings, now)
                res.item_ids.extend(rerouted)
            pubsub.notify_pg_sync(c, res.item_ids)  # other instances' live views (PostgreSQL)
            mentions.insert_dead_letters_sync(c, dead)
            faultpoints.reach("before_commit")
            if cursor is not None:
                res.cursor_saved = connector_state.save_success(
                    c, cursor.connector, cursor.owner, cursor.cursor, cursor.fetched, now=now,
                    lease_for=cursor.lease_for)
                if not res.cursor_saved:
                    # our lease was taken over: roll everything back; the new owner refetches
                    raise LeaseLost(cursor.connector)

        await self.writes.run_bulk(store)
        log.info(log_event, **res.summary(), cursor_saved=res.cursor_saved)
        if self.publish is not None and res.item_ids:
            self.publish(res.item_ids)
        return res

    def _read_and_route(self, good: Sequence[Mention], now: datetime
                        ) -> tuple[list[dict[str, Any]], dict[tuple[str, str], Decision]]:
        """Detect the languages the sources did not give, classify (reposts are not) and route
        (runs in a worker thread)."""
        texts = [m.text[:MAX_TEXT] for m in good]
        need_lang = [i for i, m in enumerate(good) if not m.language]
        langs: dict[int, str | None] = {}
        if need_lang:
            langs = dict(zip(need_lang, _detect_languages([texts[i] for i in need_lang]), strict=True))
        to_classify = [i for i, m in enumerate(good) if not m.is_repost]
        preds: dict[int, Prediction] = {}
        if to_classify:
            preds = dict(zip(to_classify, self.classifier.predict([texts[i] for i in to_classify]), strict=True))
        return self._route_rows(good, texts, langs, preds, now)

    def _route_rows(self, good: Sequence[Mention], texts: list[str], langs: dict[int, str | None],
                    preds: dict[int, Prediction], now: datetime
                    ) -> tuple[list[dict[str, Any]], dict[tuple[str, str], Decision]]:
        """The routing decision and the mention row of each new mention (pure)."""
        mention_rows: list[dict[str, Any]] = []
        decisions: dict[tuple[str, str], Decision] = {}
        for i, m in enumerate(good):
            lang = (m.language or langs.get(i) or None)
            lang = lang.split("-")[0].lower()[:16] if lang else None
            facts = MentionFacts(text=texts[i], source=m.source, platform=m.platform, author=m.author_handle,
                                 lang=lang, reach=m.author_followers)
            decisions[(m.source, m.external_id)] = self.router.decide(facts, preds.get(i), is_repost=m.is_repost)
            cluster, copy = near_duplicates.keys(texts[i])
            mention_rows.append({
                "source": m.source, "platform": m.platform[:32], "external_id": m.external_id,
                "url": m.url, "author_handle": (m.author_handle or None) and m.author_handle[:256],
                "author_name": (m.author_name or None) and m.author_name[:256],
                "author_followers": m.author_followers, "text": texts[i], "lang": lang,
                "created_at": m.created_at, "fetched_at": now, "reply_to_id": m.reply_to_id,
                "thread_id": m.thread_id, "metrics": m.metrics or {}, "is_repost": m.is_repost,
                "original_external_id": m.original_external_id, "edited_at": m.edited_at,
                "deleted": m.deleted, "cluster_key": cluster, "copy_key": copy, "raw": _raw_json(m.raw),
                "provenance": m.provenance or None,
            })
        return mention_rows, decisions

    def _store_routing(self, c: Connection, ids: dict[tuple[str, str], int],
                       decisions: dict[tuple[str, str], Decision], now: datetime, res: IngestResult) -> None:
        dec_rows: list[dict[str, Any]] = []
        item_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        due_cache: dict[str, tuple[datetime | None, datetime | None]] = {}
        for key, mid in ids.items():
            d = decisions[key]
            dec_rows.append({"mention_id": mid, "team": d.team, "label": d.label, "confidence": d.confidence,
                             "probabilities": d.probabilities, "model_version": d.model_version, "rule": d.rule,
                             "reason": d.reason, "watchers": d.watchers, "priority": d.priority,
                             "action": d.action, "explanation": d.explanation, "created_at": now})
            if d.action == "repost":
                res.reposts += 1
                continue
            if d.team is None:
                continue
            if d.team not in due_cache:  # one `now` per batch: the due times depend only on the team
                due_cache[d.team] = sla_calendar.due_times(now, self.settings.team(d.team))
            first_due, resolve_due = due_cache[d.team]
            status = ItemStatus.SPAM if d.action == "spam" else ItemStatus.NEW
            item_rows.append({"id": mid, "team": d.team, "status": status, "priority": d.priority,
                              "label": d.label, "confidence": d.confidence, "watchers": d.watchers,
                              "first_response_due": first_due, "resolve_due": resolve_due,
                              "created_at": now, "updated_at": now, "transfers": 0, "bounces": 0,
                              "breached_first_response": False, "breached_resolution": False})
            event_rows.append({"item_id": mid, "kind": "routed", "actor": "router", "team": d.team,
                               "data": {"rule": d.rule, "label": d.label, "priority": d.priority,
                                        "watchers": d.watchers, "action": d.action}, "created_at": now})
            res.queued += 1
            res.item_ids.append(mid)
            res.teams[d.team] = res.teams.get(d.team, 0) + 1
            if d.team == self.settings.routing.triage_team:
                res.triaged += 1
        mentions.insert_decisions_sync(c, dec_rows)
        items.insert_items_sync(c, item_rows)
        items.mark_copies_sync(c, [r["id"] for r in item_rows])  # the queue counts' candidates
        items.insert_events_sync(c, event_rows)


class LeaseLost(RuntimeError):
    """The connector's lease moved to another instance while this poll was running."""
