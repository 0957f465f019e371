"""Telling people what needs them (inbox.domain.people_notify decides who and what): each producer
calls one of these inside the transaction of its change, so a notification exists exactly when the
change committed; the live streams pick new rows up after the change is published
(inbox.web.notify_live). ``notify_due_soon`` is the periodic job for SLAs about to fall due."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain import people_notify as pn
from inbox.storage.repo import people_notify as repo

__all__ = ["on_assigned", "on_note", "on_note_sync", "on_reply_failed", "on_approval_needed", "notify_due_soon"]

log = structlog.get_logger(__name__)


def _tell(c: Connection, item_id: int, drafts: Sequence[pn.Draft], people: Mapping[int, pn.Recipient],
          now: datetime) -> int:
    if not drafts:
        return 0
    scope = repo.item_scope_sync(c, item_id)
    if scope is None:
        return 0
    ok = pn.deliverable(drafts, people, scope[0], scope[1], repo.private_teams_sync(c))
    told = repo.record_sync(c, ok, now)
    if told:
        log.info("people_notified", item_id=item_id, team=scope[0], kind=ok[0].kind, count=len(told))
    return len(told)


async def on_assigned(conn: AsyncConnection, item_id: int, to_id: int, actor: str, now: datetime) -> int:
    """The item was handed to user ``to_id`` by ``actor`` (a lead, or the system's auto-assignment)."""
    return await conn.run_sync(_on_assigned, item_id, to_id, actor, now)


def _on_assigned(c: Connection, item_id: int, to_id: int, actor: str, now: datetime) -> int:
    people = repo.recipients_sync(c, ids=[to_id])
    if to_id not in people:
        return 0
    return _tell(c, item_id, pn.assigned(item_id, people[to_id], actor, now), people, now)


async def on_note(conn: AsyncConnection, item_id: int, actor: str, text: str, now: datetime) -> int:
    """:func:`on_note_sync` on an async connection."""
    return await conn.run_sync(on_note_sync, item_id, actor, text, now)


def on_note_sync(c: Connection, item_id: int, actor: str, text: str, now: datetime) -> int:
    """A note by ``actor``: everyone it names with ``@`` who may see the item is told."""
    names = pn.mentioned_names(text)
    if not names:
        return 0
    people = repo.recipients_sync(c, names=names[:20])
    return _tell(c, item_id, pn.mentioned(item_id, list(people.values()), actor, text, now), people, now)


async def on_reply_failed(conn: AsyncConnection, item_id: int, reply_id: int, author: str, error: str | None,
                          now: datetime) -> int:
    return await conn.run_sync(_on_reply_failed, item_id, reply_id, author, error, now)


def _on_reply_failed(c: Connection, item_id: int, reply_id: int, author: str, error: str | None,
                     now: datetime) -> int:
    people = repo.recipients_sync(c, names=[author])
    return sum(_tell(c, item_id, pn.reply_failed(item_id, reply_id, p, error, now), people, now)
               for p in people.values())


async def on_approval_needed(conn: AsyncConnection, item_id: int, team: str, reply_id: int, author: str,
                             now: datetime) -> int:
    return await conn.run_sync(_on_approval_needed, item_id, team, reply_id, author, now)


def _on_approval_needed(c: Connection, item_id: int, team: str, reply_id: int, author: str, now: datetime) -> int:
    people = repo.leads_sync(c, team)
    return _tell(c, item_id, pn.approval_needed(item_id, reply_id, list(people.values()), author), people, now)


def _deliver_due(c: Connection, rows: Sequence[Mapping[str, Any]], drafts: Sequence[pn.Draft], now: datetime
                 ) -> tuple[list[pn.Draft], list[int]]:
    """The SLA drafts their recipients may receive, and who got a new notification."""
    people = repo.recipients_sync(c, ids={d.user_id for d in drafts})
    private = repo.private_teams_sync(c)
    scope = {int(r["id"]): (r["team"], r["watchers"]) for r in rows}
    ok = [d for d in drafts if pn.deliverable([d], people, *scope[d.item_id], private)]
    return ok, repo.record_sync(c, ok, now)


async def notify_due_soon(svc: Any, *, publish: Callable[[list[int]], Any] | None = None) -> int:
    """Tell each holder of an item whose SLA falls due within 15 minutes (once per item, SLA and due
    time); returns how many were told."""
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        rows = await repo.due_candidates(now, now + pn.DUE_SOON, conn=conn)
        drafts = pn.due_soon(rows, now)
        if not drafts:
            return 0
        ok, told = await conn.run_sync(_deliver_due, rows, drafts, now)
    if told:
        log.info("people_notified", kind="sla_due", count=len(told))
        if publish is not None:
            publish(sorted({d.item_id for d in ok}))
    return len(told)
