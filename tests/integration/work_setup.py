"""Shared setup of the work-action tests (bulk actions, assign and reopen): users of the teams and
a queue of customer-care items with one HR item beside them, through the real pipeline."""
from __future__ import annotations

from typing import Any

from connectors.base import Mention
from inbox.storage.repo import accounts, items
from inbox.work.item_actions import WorkService

__all__ = ["User", "care_queue"]

User = tuple[str, str, list[str], int | None]
"""(login name, role, teams, capacity or None for the default)."""


async def care_queue(svc: Any, users: dict[str, User], care_items: int
                     ) -> tuple[WorkService, dict[str, Any], list[int], int]:
    """The work service, ``users`` created (by key), the ids of ``care_items`` customer-care items
    and the id of one HR item."""
    now = svc.clock.now()
    u: dict[str, Any] = {}
    async with svc.engine.begin() as conn:
        for key, (name, role, teams, capacity) in users.items():
            if capacity is None:
                u[key] = await accounts.add_user(name, role, teams, None, conn=conn, now=now)
            else:
                u[key] = await accounts.add_user(name, role, teams, None, conn=conn, now=now, capacity=capacity)
    res = await svc.pipeline.ingest([Mention(source="t", platform="t", external_id=f"c{i}",
                                             text=f"my order {i} is broken, refund") for i in range(care_items)]
                                    + [Mention(source="t", platform="t", external_id="h", text="job interview")])
    care, hr = [], 0
    async with svc.engine.connect() as conn:
        for i in res.item_ids:
            it = await items.get_item(i, conn=conn)
            assert it is not None
            if it.team == "hr":
                hr = i
            else:
                care.append(i)
    return WorkService(svc.engine, svc.settings, svc.clock), u, care, hr
