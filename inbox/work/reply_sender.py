"""The reply sender: delivers the reply outbox through the platforms' write APIs (connectors.replies).

One run (``serve`` runs it every half second; ``social-inbox replies send --once`` once):
1. lease the due replies and mark them ``sending`` (one committed UPDATE, SKIP LOCKED on
   PostgreSQL): from here on a crash leaves them ``sending``, and whoever takes them after the
   lease ran out knows a request may have gone out (``in_doubt``);
2. for a reply in doubt, look on the platform first (the account's own recent replies; Mastodon
   within its Idempotency-Key window needs no look: a resend with the same key is answered with
   the first post); found: it is sent, nothing goes out again;
3. one request per reply, outside any transaction;
4. one transaction records every outcome: ``sent`` (with the platform's id; the item's first
   response is set, the first-response SLA clock stops), ``failed`` with the platform's reason (a
   4xx: never retried), or back to ``queued`` at the ``Retry-After`` time (429, 503) or after an
   exponential back-off. A 5xx or a lost connection after the request leaves the reply in doubt:
   the next attempt looks before it sends.
Per platform, what "exactly once" means is in docs/replies.md.
"""
from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog
from sqlalchemy import select

from connectors.errors import ConfigError, ConnectorError, PermanentError, RateLimited
from connectors.http import HttpClient, RetryPolicy
from connectors.netguard import guarded_tcp_connector
from connectors.replies import Posted, ReplyTarget, ReplyWriter, build_writer, reply_capability
from connectors.replies.social import MastodonWriter
from inbox import faultpoints
from inbox.domain.reply_parent import parent_ref
from inbox.storage.engine import reader
from inbox.storage.repo import items, pubsub
from inbox.storage.repo import replies as rrepo
from inbox.storage.repo._common import T_MENTION
from inbox.storage.tables import ReplyStatus
from inbox.work import people_notify

__all__ = ["ReplySender", "backoff", "MAX_ATTEMPTS", "SEND_LEASE"]

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY = 1.0
MAX_DELAY = 600.0
SEND_LEASE = timedelta(seconds=60)
CONCURRENCY = 64
# one attempt per request: the outbox retries; no in-process waiting beyond half a second
POLICY = RetryPolicy(max_attempts=1, max_wait=0.5, breaker_threshold=10_000, low_budget=0.0)


def backoff(attempts: int) -> timedelta:
    """Delay after ``attempts`` failed attempts: 1 s, 2 s, 4 s ... at most 10 minutes."""
    return timedelta(seconds=min(MAX_DELAY, BASE_DELAY * 2.0 ** max(0, attempts - 1)))


@dataclass(slots=True)
class _Outcome:
    kind: str                        # sent | failed | retry | doubt
    posted: Posted | None = None
    error: str | None = None
    status: int | None = None
    retry_at: datetime | None = None


def _never_sent(exc: BaseException) -> bool:
    """The request cannot have reached the platform (no connection was made)."""
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientConnectorError) and not isinstance(cause, aiohttp.ServerDisconnectedError)


class ReplySender:
    """Owns the HTTP sessions of the write clients for one process."""

    def __init__(self, svc: Any, *, http: HttpClient | None = None, env: Mapping[str, str] | None = None) -> None:
        self.svc = svc
        self.env = env if env is not None else os.environ
        self._http = http
        self._sessions: list[aiohttp.ClientSession] = []
        self._kicked: asyncio.Task[Any] | None = None

    def kick(self) -> None:
        """Run once now, in the background (a reply was just queued); at most one such run at a time."""
        if self._kicked is None or self._kicked.done():
            self._kicked = asyncio.get_running_loop().create_task(self._run_logged())

    async def _run_logged(self) -> None:
        try:
            await self.run_once()
        except Exception:  # a background run failing must not go unnoticed, nor kill anything
            log.exception("reply_sender_failed")

    def _client(self) -> HttpClient:
        if self._http is None:
            self._sessions = [aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30, connect=10),
                                                    connector=guarded_tcp_connector(limit=limit, limit_per_host=32))
                              for limit in (64, 64)]
            self._http = HttpClient(self._sessions[0], private_session=self._sessions[1], clock=self.svc.clock.now,
                                    random=random.Random(), policy=POLICY)
        return self._http

    async def close(self) -> None:
        for s in self._sessions:
            await s.close()
        self._sessions, self._http = [], None

    async def run_once(self, *, limit: int = 500) -> dict[str, int]:
        """Deliver what is due; returns counts of sent, failed, retried and in-doubt replies."""
        svc = self.svc
        now = svc.clock.now()
        counts = {"sent": 0, "failed": 0, "retried": 0, "in_doubt": 0}
        async with reader(svc.engine).connect() as conn:
            if not await rrepo.any_due(conn=conn, now=now):
                return counts
        async with svc.engine.begin() as conn:
            rows = await rrepo.claim_due(conn=conn, now=now, owner=svc.owner, lease_for=SEND_LEASE, limit=limit)
        if not rows:
            return counts
        faultpoints.reach("reply_before_request")
        mentions = await self._mentions([r["item_id"] for r in rows])
        gate = asyncio.Semaphore(CONCURRENCY)
        writers: dict[str, ReplyWriter] = {}  # one per connector for this run (a Bluesky session is shared)

        async def one(row: dict[str, Any]) -> _Outcome:
            async with gate:
                return await self._attempt(row, mentions.get(row["item_id"]), writers)
        outcomes = await asyncio.gather(*[one(r) for r in rows])
        faultpoints.reach("reply_after_request")
        await self._record(rows, outcomes, counts)
        log.info("replies_delivered", **counts)
        return counts

    async def _mentions(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        q = select(T_MENTION.c.id, T_MENTION.c.external_id, T_MENTION.c.raw, T_MENTION.c.reply_to_id,
                   T_MENTION.c.platform).where(T_MENTION.c.id.in_(sorted(set(ids))))
        async with reader(self.svc.engine).connect() as conn:
            return {r.id: dict(r._mapping) for r in await conn.execute(q)}

    async def _attempt(self, row: dict[str, Any], mention: dict[str, Any] | None,
                       writers: dict[str, ReplyWriter]) -> _Outcome:
        cfg = self.svc.settings.connector(row["connector"])
        why_not = reply_capability(cfg, self.env)
        if why_not is not None or cfg is None or mention is None:
            return _Outcome("failed", error=why_not or "the mention is gone")
        parent = parent_ref(row["platform"], mention)
        target = ReplyTarget(parent_id=row["parent_external_id"], text=row["text"], key=row["idempotency_key"],
                             parent=parent.extra)
        writer = writers.get(cfg.name)
        if writer is None:
            writer = writers[cfg.name] = build_writer(cfg, self._client(), env=self.env)
        bound = log.bind(reply_id=row["id"], item_id=row["item_id"], connector=row["connector"])
        now = self.svc.clock.now()
        try:
            if row["in_doubt"] and not (isinstance(writer, MastodonWriter)
                                        and writer.key_still_honoured(row["first_sent_at"] or now, now)):
                found = await writer.find_sent(target, row["first_sent_at"] or row["created_at"])
                bound.info("reply_in_doubt_checked", found=found is not None)
                if found is not None:
                    return _Outcome("sent", posted=found)
        except (ConfigError, PermanentError) as e:
            return _Outcome("failed", error=f"delivery uncertain, look on the platform before retrying: {e.message}",
                            status=e.status)
        except ConnectorError as e:
            return _Outcome("doubt", error=e.message, status=e.status,
                            retry_at=e.retry_at if isinstance(e, RateLimited) else None)
        try:
            faultpoints.reach("reply_request")
            posted = await writer.send(target)
        except RateLimited as e:
            return _Outcome("retry", error=e.message, status=e.status, retry_at=e.retry_at)
        except PermanentError as e:  # includes ConfigError (a credential gone) and BlockedAddress
            return _Outcome("failed", error=e.message, status=e.status)
        except ConnectorError as e:  # 5xx, timeout, lost connection: maybe delivered
            return _Outcome("retry" if _never_sent(e) else "doubt", error=e.message, status=e.status)
        except (KeyError, TypeError, ValueError) as e:  # a 2xx we cannot read: it was delivered
            bound.warning("reply_answer_unreadable", error=type(e).__name__)
            return _Outcome("doubt", error=f"the platform's answer could not be read ({type(e).__name__})")
        return _Outcome("sent", posted=posted)

    async def _record(self, rows: list[dict[str, Any]], outcomes: list[_Outcome], counts: dict[str, int]) -> None:
        svc = self.svc
        done = svc.clock.now()
        decided = {r["id"]: (r, *self._values(r, o, done)) for r, o in zip(rows, outcomes, strict=True)}
        async with svc.engine.begin() as conn:
            # rows whose lease ran out meanwhile were taken over by another sender: not ours to record
            written = await rrepo.finish_many({i: {**v, "updated_at": done} for i, (_, v, _k) in decided.items()},
                                              svc.owner, conn=conn)
            events, sent_items = [], []
            for i in written:
                r, values, kind = decided[i]
                status = values["status"]
                counts[{"sent": "sent", "failed": "failed", "queued": "retried"}.get(status, "in_doubt")] += 1
                if status == ReplyStatus.SENT:
                    sent_items.append(r["item_id"])
                elif status == ReplyStatus.FAILED:
                    await people_notify.on_reply_failed(conn, r["item_id"], i, r["author"], values.get("error"), done)
                if kind:
                    events.append({"item_id": r["item_id"], "kind": kind, "actor": r["author"], "team": None,
                                   "data": {"reply_id": i, "external_id": values.get("external_id"),
                                            "error": values.get("error")}, "created_at": done})
            await rrepo.mark_first_responses(sent_items, done, conn=conn)
            if events:
                await _with_teams(conn, events)
                await items.insert_events(events, conn=conn)
            changed = sorted({decided[i][0]["item_id"] for i in written})
            await pubsub.notify_pg(conn, changed)
        if changed:
            svc._publish(changed)

    def _values(self, r: dict[str, Any], o: _Outcome, now: datetime) -> tuple[dict[str, Any], str | None]:
        base: dict[str, Any] = {"lease_owner": None, "error": o.error, "error_status": o.status}
        if o.kind == "sent" and o.posted is not None:
            return {**base, "status": ReplyStatus.SENT, "external_id": o.posted.external_id, "url": o.posted.url,
                    "sent_at": now, "in_doubt": False, "lease_expires_at": None, "error": None,
                    "error_status": None}, "reply_sent"
        if o.kind == "failed":
            return {**base, "status": ReplyStatus.FAILED, "lease_expires_at": None}, "reply_failed"
        later = o.retry_at or (now + backoff(r["attempts"]))
        if r["attempts"] >= MAX_ATTEMPTS:
            note = "delivery uncertain, look on the platform before retrying: " if o.kind == "doubt" else ""
            return {**base, "status": ReplyStatus.FAILED, "lease_expires_at": None, "in_doubt": o.kind == "doubt",
                    "error": f"{note}gave up after {r['attempts']} attempts: {o.error}"}, "reply_failed"
        if o.kind == "doubt":  # stays 'sending', without a holder: whoever takes it after this time looks first
            return {**base, "status": ReplyStatus.SENDING, "in_doubt": True, "lease_expires_at": None,
                    "next_attempt_at": later}, None
        return {**base, "status": ReplyStatus.QUEUED, "in_doubt": False, "next_attempt_at": later,
                "lease_expires_at": None}, None


async def _with_teams(conn: Any, events: list[dict[str, Any]]) -> None:
    from inbox.storage.repo._common import T_ITEM
    ids = sorted({e["item_id"] for e in events})
    teams = {i: t for i, t in await conn.execute(select(T_ITEM.c.id, T_ITEM.c.team).where(T_ITEM.c.id.in_(ids)))}
    for e in events:
        e["team"] = teams.get(e["item_id"])
