"""The thread-context job: fetch the posts that open items answer (their parent, and the thread's
first post when different) when no poll stored them, so the item page shows them above the mention.

One run (``serve`` runs it every few minutes, one instance at a time; ``social-inbox poll --once``
and ``social-inbox context fetch --once`` run it once):
1. the mentions of open items fetched in the last WINDOW name posts in ``reply_to_id`` /
   ``thread_id`` that are stored neither as a mention nor as a context post, nor erased;
2. per source, its connector looks them up on the platform in batches (connectors/context.py:
   only the platform's ids, never a URL out of a mention's text; the connector's HTTP client with
   its rate limits, ``Retry-After`` and SSRF guard); a platform without such a lookup gives nothing;
3. each batch is stored as it comes: the posts found, and a ``gone`` row for each post the platform
   says does not exist, so it is not asked for again. A failure is logged with the connector and
   ends that source's run. The next run asks again; a source that keeps failing is asked less
   often, as polls are (inbox.domain.poll_backoff: twice the interval, four times, ... up to 15
   minutes, or an hour for a refusal that retrying cannot fix), until one run succeeds. The count
   is this process's (``svc.context_failures``); a CLI run starts afresh.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import structlog

from connectors.context import ContextFetcher, chunks
from connectors.errors import ConnectorError, PermanentError
from connectors.http import HttpClient
from connectors.registry import build_connector
from inbox.domain.poll_backoff import retry_delay
from inbox.ingest.poll import Poller
from inbox.storage.engine import read_conn
from inbox.storage.repo import context_posts

__all__ = ["fetch_thread_context", "WINDOW", "INTERVAL"]

log = structlog.get_logger(__name__)

WINDOW = timedelta(days=7)
INTERVAL = 300.0  # seconds between runs in serve


async def fetch_thread_context(svc: Any, *, http: HttpClient | None = None, limit: int = 500,
                               sources: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
    """One run; returns per source the posts stored, the ones gone and the batches that failed."""
    now = svc.clock.now()
    async with read_conn(svc.engine) as conn:
        todo = await context_posts.wanted(conn=conn, since=now - WINDOW, limit=limit)
    cfgs = {c.name: c for c in svc.settings.connectors if getattr(c, "enabled", True)}
    out: dict[str, dict[str, int]] = {}
    if not any(s in cfgs for s in todo):
        return out
    async with Poller(svc, http=http) as poller:
        for source, keys in sorted(todo.items()):
            if source not in cfgs or (sources and source not in sources):
                continue
            failures, not_before = svc.context_failures.get(source, (0, now))
            if now < not_before:
                log.info("thread_context_backing_off", connector=source, failures=failures, until=not_before)
                continue
            done = await _fetch_source(svc, poller.http, cfgs[source], keys)
            permanent = bool(done.pop("permanent", 0))
            out[source] = done
            if done["failed"]:
                # after one failure the next run asks; after more, the back-off's wait less half a
                # run's interval, so that the run due then asks even if the scheduler fires it early
                wait = retry_delay(timedelta(seconds=INTERVAL), failures + 1, permanent=permanent)
                not_before = now + wait - timedelta(seconds=INTERVAL / 2) if failures else now
                svc.context_failures[source] = (failures + 1, not_before)
            else:
                svc.context_failures.pop(source, None)
    return out


async def _fetch_source(svc: Any, http: HttpClient, cfg: Any, keys: list[tuple[str, str]]) -> dict[str, int]:
    slog = log.bind(connector=cfg.name)
    done = {"stored": 0, "gone": 0, "failed": 0}
    try:
        connector = build_connector(cfg, http, env=os.environ)
    except ConnectorError as exc:
        slog.warning("thread_context_failed", error_kind=exc.kind, error=str(exc))
        done["failed"] += 1
        done["permanent"] = int(isinstance(exc, PermanentError))
        return done
    if not isinstance(connector, ContextFetcher):
        return done  # RSS, webhooks: the platform gives no parent to fetch
    platform = keys[0][0]
    for batch in chunks([k for _, k in keys], max(1, connector.context_batch)):
        try:
            got = await connector.fetch_context(batch)
        except ConnectorError as exc:  # retried by a later run
            slog.warning("thread_context_failed", error_kind=exc.kind, status=exc.status, error=str(exc),
                         posts=len(batch))
            done["failed"] += 1
            done["permanent"] = int(isinstance(exc, PermanentError))
            break
        except Exception:  # an unexpected answer must not stop the other sources
            slog.exception("thread_context_failed", posts=len(batch))
            done["failed"] += 1
            break
        missing = got.missing - set(got.posts)
        async with svc.engine.begin() as conn:
            await context_posts.store(cfg.name, platform, got.posts.values(), missing, conn=conn, now=svc.clock.now())
        done["stored"] += len(got.posts)
        done["gone"] += len(missing)
    if done["stored"] or done["gone"]:
        slog.info("thread_context_fetched", stored=done["stored"], gone=done["gone"])
    return done
