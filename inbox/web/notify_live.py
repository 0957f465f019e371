"""Notifications for people on the live streams: after published changes (at most once per the
broker's ``after_gap``, half a second) and on the broker's periodic re-check the notifications
written since the last look are read once, and each signed-in
user with a stream hears ``event: notifications`` with their unread count and the new ones (text in
their language). Only notifications about items the user may see are sent or counted: a user
hears nothing at all about an HR item they cannot see. The browser updates the header bell and the
tab title, and shows a browser notification when the user turned those on.

"Written since the last look" is by id, and ids are taken when a row is inserted, not when it
commits: on PostgreSQL a transaction that commits later than a newer one leaves its lower id behind
the last one read. So the ids skipped over are remembered as holes and asked for again on each look,
for a minute (a rolled-back row never fills its hole)."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import structlog

from inbox.storage.engine import reader
from inbox.storage.repo import people_notify as repo
from inbox.web import i18n
from inbox.web.notify_text import describe
from inbox.work.item_actions import visible_teams

__all__ = ["NoticeFeed", "tell_unread"]

log = structlog.get_logger(__name__)

#: how long an id skipped over is asked for again, and how many such ids are kept at most
HOLE_WAIT = timedelta(minutes=1)
MAX_HOLES = 1000


class NoticeFeed:
    def __init__(self, broker: Any, svc: Any) -> None:
        self.broker = broker
        self.svc = svc
        self.last = 0
        self.sent = 0
        self.holes: dict[int, datetime] = {}  # ids below ``last`` not read yet → when first skipped

    async def start(self) -> None:
        async with reader(self.svc.engine).connect() as conn:
            self.last = await repo.max_id(conn=conn)

    async def push(self) -> None:
        """Send each subscriber the notifications for them written since the last push."""
        async with reader(self.svc.engine).connect() as conn:
            rows = await repo.newer_than(self.last, (), conn=conn, also=tuple(self.holes))
            self._advance([r["id"] for r in rows])
            if not rows:
                return
            fresh: dict[int, set[int]] = defaultdict(set)
            for r in rows:
                fresh[r["user_id"]].add(r["id"])
            private = self.svc.settings.private_teams
            for sub in list(self.broker.subscribers):
                ids = fresh.get(sub.user.id)
                if not ids:
                    continue
                kw = {"teams": visible_teams(sub.user), "private": private}
                new = [r for r in await repo.list_for(sub.user.id, conn=conn, unread=True, limit=20, **kw)
                       if r["id"] in ids]
                if not new:
                    continue  # about items this user may not see: not even a count changes
                unread = await repo.unread_count(sub.user.id, conn=conn, **kw)
                i18n.use_locale(getattr(sub, "locale", i18n.DEFAULT))
                data = {"unread": unread, "new": [{"id": r["id"], "kind": r["kind"], "item_id": r["item_id"],
                                                   "text": describe(r)} for r in new]}
                self.broker.send(sub, "event: notifications\ndata: "
                                 + json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n\n")
                self.sent += len(new)

    def _advance(self, ids: list[int]) -> None:
        """Move past the ids read, remembering the ones skipped over; forget holes past their wait."""
        now = self.svc.clock.now()
        seen = set(ids)
        top = max(seen, default=self.last)
        for hole in range(max(self.last + 1, top - MAX_HOLES + 1), top):
            if hole not in seen:
                self.holes.setdefault(hole, now)
        for i in seen:
            self.holes.pop(i, None)
        self.last = max(self.last, top)
        stale = [h for h, at in self.holes.items() if now - at > HOLE_WAIT]
        stale += sorted(self.holes)[: max(0, len(self.holes) - MAX_HOLES)]  # the oldest, past the cap
        for h in stale:
            self.holes.pop(h, None)


def tell_unread(broker: Any, user_id: int, unread: int) -> int:
    """The user read notifications (an item page, the list, the API): their streams of this
    process hear the new unread count with nothing new, so the bell and the tab title of their other
    tabs drop at once. Returns the streams told."""
    msg = "event: notifications\ndata: " + json.dumps({"unread": unread, "new": []}, separators=(",", ":")) + "\n\n"
    told = 0
    for sub in list(broker.subscribers):
        if sub.user.id == user_id:
            broker.send(sub, msg)
            told += 1
    return told
