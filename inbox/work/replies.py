"""Writing replies: the composer's and the API's side of the reply outbox.

A reply is one ``reply`` row and one audit event in one transaction (the outbox): ``queued`` for
the sender (inbox.work.reply_sender), or ``pending_approval`` for a team with ``reply_approval``
until a lead of the team approves (``queued``) or rejects it. A failed reply can be queued again.
Who may reply: a member of the item's team (or an admin); watchers read, they do not answer.
The parent the platform gets comes from the stored mention (inbox.domain.reply_parent)."""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.replies import reply_capability
from inbox.domain.clock import Clock
from inbox.domain.reply_parent import parent_ref
from inbox.domain.reply_text import check_reply
from inbox.domain.types import UserInfo
from inbox.errors import Conflict, Forbidden, Invalid, NotFound
from inbox.settings import Settings
from inbox.storage.engine import read_conn
from inbox.storage.repo import items, pubsub
from inbox.storage.repo import replies as rrepo
from inbox.storage.tables import ItemStatus, ReplyStatus
from inbox.work import people_notify
from inbox.work.item_actions import WorkService

__all__ = ["ReplyService", "PUBLIC_KEYS", "public_reply", "needs_approval"]

log = structlog.get_logger(__name__)

PUBLIC_KEYS = ("id", "text", "status", "author", "created_at", "sent_at", "external_id", "url", "error",
               "reviewer", "review_note", "attempts")
MAX_NOTE = 1000


def public_reply(row: Mapping[str, Any]) -> dict[str, Any]:
    """A reply as the API shows it (``sending`` is shown as ``queued``: not yet confirmed)."""
    out = {k: row.get(k) for k in PUBLIC_KEYS}
    if out["status"] == ReplyStatus.SENDING:
        out["status"] = ReplyStatus.QUEUED
    return out


def needs_approval(settings: Settings, team: str) -> bool:
    t = settings.team(team)
    return bool(t is not None and t.needs_reply_approval)


class ReplyService:
    def __init__(self, engine: AsyncEngine, settings: Settings, clock: Clock, *,
                 publish: Callable[[list[int]], Any] | None = None, env: Mapping[str, str] | None = None,
                 kick: Callable[[], Any] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.publish = publish or (lambda ids: None)
        self.env = env if env is not None else os.environ
        self.kick = kick or (lambda: None)

    # reading -------------------------------------------------------------------------------------
    def capability(self, source: str) -> str | None:
        """None when this source's items can be answered from here, else why not."""
        return reply_capability(self.settings.connector(source), self.env)

    async def _visible_item(self, user: UserInfo, item_id: int) -> Any:
        return await WorkService(self.engine, self.settings, self.clock).get(user, item_id)  # NotFound when unseen

    def _may_answer(self, user: UserInfo, team: str) -> None:
        if not user.is_admin and team not in user.teams:
            raise Forbidden("watchers can read and add notes, not reply")

    # writing -------------------------------------------------------------------------------------
    async def compose(self, user: UserInfo, item_id: int, text: str) -> dict[str, Any]:
        item = await self._visible_item(user, item_id)
        self._may_answer(user, item.team)
        if item.status == ItemStatus.SPAM:
            raise Conflict(f"item {item_id} is spam: it gets no reply")
        async with read_conn(self.engine) as conn:
            mention = await items.mention_row(item_id, conn=conn)
        assert mention is not None
        why_not = self.capability(mention["source"])
        if why_not is not None:
            raise Conflict(f"replies cannot be sent from here: {why_not}"
                           + (f"; answer on the platform: {mention['url']}" if mention.get("url") else ""))
        platform = mention["platform"]
        problem = check_reply(platform, text)
        if problem is not None:
            raise Invalid(problem)
        parent = parent_ref(platform, mention)
        if parent.refusal:
            raise Conflict(parent.refusal)
        now = self.clock.now()
        status = ReplyStatus.PENDING_APPROVAL if needs_approval(self.settings, item.team) else ReplyStatus.QUEUED
        async with self.engine.begin() as conn:
            row = await rrepo.insert_reply({
                "item_id": item_id, "connector": mention["source"], "platform": platform,
                "parent_external_id": parent.parent_id, "text": text, "status": status, "author": user.name,
                "idempotency_key": uuid.uuid4().hex, "attempts": 0, "in_doubt": False,
                "next_attempt_at": now if status == ReplyStatus.QUEUED else None,
                "created_at": now, "updated_at": now}, conn=conn)
            await items.insert_events([{"item_id": item_id, "kind": "reply", "actor": user.name, "team": item.team,
                                        "data": {"reply_id": row["id"], "status": status, "text": text},
                                        "created_at": now}], conn=conn)
            if status == ReplyStatus.PENDING_APPROVAL:
                await people_notify.on_approval_needed(conn, item_id, item.team, row["id"], user.name, now)
            await pubsub.notify_pg(conn, [item_id])
        log.info("reply_composed", item_id=item_id, reply_id=row["id"], team=item.team, user=user.name,
                 connector=mention["source"], status=status)
        self.publish([item_id])
        if status == ReplyStatus.QUEUED:
            self.kick()
        return row

    async def _review(self, user: UserInfo, reply_id: int, *, kind: str, expected: tuple[str, ...],
                      values: Callable[[datetime], dict[str, Any]], lead_only: bool,
                      data: dict[str, Any] | None = None) -> dict[str, Any]:
        async with read_conn(self.engine) as conn:
            row = await rrepo.get_reply(reply_id, conn=conn)
        if row is None:
            raise NotFound(f"no reply {reply_id}")
        item = await self._visible_item(user, row["item_id"])  # NotFound when the caller may not see it
        self._may_answer(user, item.team)
        if lead_only and user.role not in ("lead", "admin"):
            raise Forbidden(f"only a lead of {item.team} approves or rejects replies")
        now = self.clock.now()
        async with self.engine.begin() as conn:
            new = await rrepo.set_status(reply_id, expected, {**values(now), "updated_at": now}, conn=conn)
            if new is None:
                raise Conflict(f"reply {reply_id} is {row['status']}, not {' or '.join(expected)}")
            await items.insert_events([{"item_id": row["item_id"], "kind": kind, "actor": user.name,
                                        "team": item.team, "data": {"reply_id": reply_id, **(data or {})},
                                        "created_at": now}], conn=conn)
            await pubsub.notify_pg(conn, [row["item_id"]])
        log.info(kind, item_id=row["item_id"], reply_id=reply_id, team=item.team, user=user.name)
        self.publish([row["item_id"]])
        if new["status"] == ReplyStatus.QUEUED:
            self.kick()
        return new

    async def approve(self, user: UserInfo, reply_id: int, note: str | None = None) -> dict[str, Any]:
        note = _note(note)
        return await self._review(user, reply_id, kind="reply_approved", expected=(ReplyStatus.PENDING_APPROVAL,),
                                  values=lambda now: {"status": ReplyStatus.QUEUED, "next_attempt_at": now,
                                                      "reviewer": user.name, "review_note": note},
                                  lead_only=True, data={"note": note} if note else None)

    async def reject(self, user: UserInfo, reply_id: int, note: str | None = None) -> dict[str, Any]:
        note = _note(note)
        if not note:
            raise Invalid("a rejection needs a note for the author of the reply")
        return await self._review(user, reply_id, kind="reply_rejected", expected=(ReplyStatus.PENDING_APPROVAL,),
                                  values=lambda now: {"status": ReplyStatus.REJECTED, "reviewer": user.name,
                                                      "review_note": note},
                                  lead_only=True, data={"note": note})

    async def retry(self, user: UserInfo, reply_id: int) -> dict[str, Any]:
        """Queue a failed reply again (after its cause was fixed: a credential, a suspension)."""
        return await self._review(user, reply_id, kind="reply_retried", expected=(ReplyStatus.FAILED,),
                                  values=lambda now: {"status": ReplyStatus.QUEUED, "next_attempt_at": now,
                                                      "attempts": 0, "error": None, "error_status": None},
                                  lead_only=False)


def _note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise Invalid(f"a note is at most {MAX_NOTE} characters")
    return note
