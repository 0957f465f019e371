"""One poll of one connector: lease → cursor → connector batches → pipeline (each batch's mentions
and its cursor in one transaction, the next batch fetched meanwhile: :mod:`inbox.ingest.poll_batches`) →
health. Connectors never touch the database; this module is where their results meet it. One
failing connector never stalls the others: each poll is isolated."""
from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog

from connectors.base import PollResult, poll_in_batches
from connectors.config import ConnectorSettings
from connectors.errors import ConnectorError, PermanentError, RateLimited
from connectors.http import HttpClient
from connectors.netguard import guarded_tcp_connector
from connectors.registry import build_connector
from inbox import faultpoints
from inbox.domain.poll_backoff import retry_delay
from inbox.ingest.pipeline import CursorUpdate, IngestResult, LeaseLost
from inbox.ingest.poll_batches import PollTotals, run_pipelined
from inbox.storage.repo import connector_state

if TYPE_CHECKING:  # the service container is built above this layer (inbox.ops) and handed in
    from inbox.ops.services import Services

__all__ = ["Poller", "poll_once", "POLL_BATCH"]

log = structlog.get_logger(__name__)

POLL_BATCH = 1000
"""Mentions per transaction when a connector hands a long walk over in batches (Mastodon's
``min_id`` pages): batch k is stored while batch k+1 is fetched."""
SQLITE_POLL_BATCH = 250
"""The same on SQLite, where a batch's transaction holds the one write lock: an agent's claim
waits for at most one batch of this size (inbox.storage.write_gate puts it first in the queue)."""
TRY_FETCH_SECONDS = 5.0
"""How long "test this connector" waits for the source before answering that it did not answer."""


class Poller:
    """Polls connectors for one instance. Owns the shared HTTP client session."""

    def __init__(self, svc: Services, *, http: HttpClient | None = None, sleep: Any = None,
                 batch_size: int | None = None) -> None:
        self.svc = svc
        self.batch_size = batch_size or (SQLITE_POLL_BATCH if svc.engine.dialect.name == "sqlite" else POLL_BATCH)
        self._sessions: list[aiohttp.ClientSession] = []
        self._http = http
        self._sleep = sleep or asyncio.sleep

    async def __aenter__(self) -> Poller:
        if self._http is None:
            # two pools: connectors with allow_private_hosts never share a kept-alive
            # connection with the strict ones (see connectors/http.py)
            self._sessions = [
                aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=60, connect=10),
                    connector=guarded_tcp_connector(limit=limit, limit_per_host=4),
                    auto_decompress=True)
                for limit in (20, 8)
            ]
            self._http = HttpClient(self._sessions[0], private_session=self._sessions[1],
                                    clock=self.svc.clock.now, sleep=self._sleep, random=random.Random())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for session in self._sessions:
            await session.close()
        self._sessions = []

    @property
    def http(self) -> HttpClient:
        assert self._http is not None, "use Poller as an async context manager"
        return self._http

    async def try_fetch(self, cfg: ConnectorSettings, *, limit: int = 10) -> dict[str, Any]:
        """One fetch of the first page of ``cfg`` from the start, nothing stored, no lease, no
        cursor: "test this connector" in the admin API. Returns the first ``limit`` items, the
        number read and rejected, the source warnings, or the error."""
        cfg = cfg.model_copy(update={"max_pages": 1})
        try:
            # an admin waits for this answer: a source that does not answer (or whose host does not
            # resolve and is retried) is reported as such rather than held for the retries' full course
            async with asyncio.timeout(TRY_FETCH_SECONDS):
                result = await build_connector(cfg, self.http, env=os.environ).poll(None)
        except ConnectorError as e:
            return {"ok": False, "error": str(e), "items": [], "read": 0, "rejected": 0, "warnings": []}
        except TimeoutError:
            return {"ok": False, "error": f"no answer within {TRY_FETCH_SECONDS:g} s", "items": [], "read": 0,
                    "rejected": 0, "warnings": []}
        items = [{"external_id": m.external_id, "author": m.author_handle, "text": m.text[:500], "url": m.url,
                  "created_at": m.created_at.isoformat() if m.created_at else None} for m in result.mentions[:limit]]
        warnings = [f"{w.kind}: {w.message}" for w in result.warnings]
        return {"ok": True, "error": None, "items": items, "read": len(result.mentions),
                "rejected": len(result.rejects), "warnings": warnings[:20]}

    async def poll(self, cfg: ConnectorSettings, *, due_only: bool = False) -> dict[str, Any]:
        """Poll ``cfg`` once if this instance gets its lease; returns the summary line."""
        svc = self.svc
        bound = log.bind(connector=cfg.name, connector_type=cfg.type)
        now = svc.clock.now()
        lease_for = svc.settings.server.poll_lease
        async with svc.engine.begin() as conn:
            await connector_state.ensure(cfg.name, cfg.type, conn=conn, now=now)
            got = await connector_state.try_lease(cfg.name, svc.owner, conn=conn, now=now, lease_for=lease_for,
                                                  due_only=due_only)
            state = await connector_state.get_state(cfg.name, conn=conn) if got else None
        if not got:
            bound.debug("poll_skipped_lease_held_or_not_due")
            return {"connector": cfg.name, "type": cfg.type, "skipped": True, "reason": "lease held or not due"}
        out: dict[str, Any] = {"connector": cfg.name, "type": cfg.type, "ok": False}
        totals = PollTotals()
        next_poll = now + cfg.interval
        try:
            connector = build_connector(cfg, self.http, env=os.environ)
            pipeline = await svc.ready_pipeline()

            async def store(batch: PollResult) -> IngestResult:
                faultpoints.reach("after_fetch")
                return await pipeline.ingest(
                    batch.mentions, batch.rejects, log_event="poll_batch",
                    cursor=CursorUpdate(cfg.name, svc.owner, batch.cursor, len(batch.mentions),
                                        lease_for=lease_for))

            batches = poll_in_batches(connector, (state or {}).get("cursor"), batch_size=self.batch_size)
            await run_pipelined(batches, store, totals)
            out.update(ok=True, fetched=totals.fetched, requests=totals.requests, pages=totals.pages,
                       batches=totals.batches, **{k: v for k, v in totals.summary().items() if k != "read"})
            await self._record_health(cfg, totals, out)
            if totals.errors:
                out["degraded"] = [{"stream": e.stream, "kind": e.kind, "message": e.message} for e in totals.errors]
                async with svc.engine.begin() as conn:
                    await connector_state.save_failure(
                        cfg.name,
                        "; ".join(f"{e.stream}: {e.message}" for e in totals.errors),
                        conn=conn,
                        now=svc.clock.now(),
                        permanent=False,
                    )
        except LeaseLost:
            out.update(error="lease lost to another instance; batch rolled back")
            bound.warning("poll_lease_lost")
        except ConnectorError as e:
            if isinstance(e, RateLimited):
                # the platform's Retry-After is every instance's next poll time: none asks earlier
                next_poll = max(next_poll, e.retry_at)
                out["retry_at"] = e.retry_at.isoformat()
            permanent = isinstance(e, PermanentError)
            out.update(error=str(e), permanent=permanent)
            bound.warning("poll_failed", error=str(e), permanent=permanent)
            async with svc.engine.begin() as conn:
                failures = await connector_state.save_failure(
                    cfg.name, str(e), conn=conn, now=svc.clock.now(), permanent=permanent
                )
            # a source that keeps failing is asked less often (the platform's Retry-After still wins if later)
            next_poll = max(next_poll, now + retry_delay(cfg.interval, failures, permanent=permanent))
            out["next_poll_at"] = next_poll.isoformat()
        except Exception as e:  # one connector's bug must not stop the others
            out.update(error=f"{type(e).__name__}: {e}")
            bound.exception("poll_crashed")
            async with svc.engine.begin() as conn:
                failures = await connector_state.save_failure(
                    cfg.name, f"{type(e).__name__}: {e}", conn=conn, now=svc.clock.now(), permanent=False
                )
            next_poll = max(next_poll, now + retry_delay(cfg.interval, failures, permanent=False))
            out["next_poll_at"] = next_poll.isoformat()
        finally:
            if not out["ok"] and totals.batches:  # batches committed before the failure stand
                out.update(committed_batches=totals.batches, ingested=totals.counts["ingested"])
            async with svc.engine.begin() as conn:
                await connector_state.release_lease(cfg.name, svc.owner, conn=conn, next_poll_at=next_poll)
                st = await connector_state.get_state(cfg.name, conn=conn)
        if st:
            out["health"] = {"healthy": st["healthy"], "reason": st["health_reason"],
                             "consecutive_failures": st["consecutive_failures"],
                             "last_success_at": st["last_success_at"], "last_error": st["last_error"],
                             "mentions_fetched": st["mentions_fetched"]}
        bound.info("poll_done", **{k: v for k, v in out.items() if k not in ("health", "connector", "type")})
        return out


    async def _record_health(self, cfg: ConnectorSettings, totals: PollTotals, out: dict[str, Any]) -> None:
        """The source's health from what the poll read (inbox.work.notifier tells people when a
        source turns unhealthy)."""
        svc = self.svc
        now = svc.clock.now()
        warnings = [{"kind": w.kind, "stream": w.stream, "message": w.message[:500]} for w in totals.warnings]
        if warnings:
            out["warnings"] = warnings
            log.warning("poll_warnings", connector=cfg.name, warnings=warnings[:5], count=len(warnings))
        async with svc.engine.begin() as conn:
            reason = await connector_state.record_poll(cfg.name, totals.outcome(), warnings, conn=conn, now=now)
        if reason:
            out["unhealthy"] = reason
            log.warning("source_unhealthy", connector=cfg.name, reason=reason)


async def poll_once(svc: Services, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Poll every enabled connector (or the named ones) once, concurrently."""
    cfgs = [c for c in svc.settings.connectors if c.type != "webhook" and getattr(c, "enabled", True)]
    if names:
        unknown = set(names) - {c.name for c in svc.settings.connectors}
        if unknown:
            from inbox.errors import InputError
            raise InputError(f"--connector: unknown connector {sorted(unknown)[0]!r}")
        cfgs = [c for c in cfgs if c.name in names]
    async with Poller(svc) as poller:
        return list(await asyncio.gather(*[poller.poll(c) for c in cfgs]))
