"""Bulk actions: one action on several items, each done exactly as the single action (its own
checks, transaction and audit event), with a result per item; one refusal stops nothing else.
Resolve resolves each item with its open copies, as the item page does (inbox.work.similar): the
copies resolved are listed in the item's result, and a listed id already resolved as a copy of an
earlier one answers 200 with ``resolved_with``."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from inbox.domain.types import ItemSummary, UserInfo
from inbox.errors import DomainError, Invalid
from inbox.storage.tables import ItemStatus
from inbox.work import handover, similar
from inbox.work.item_actions import WorkService

__all__ = ["ACTIONS", "MAX_IDS", "Outcome", "run"]

log = structlog.get_logger(__name__)

ACTIONS = ("resolve", "transfer", "assign", "spam")
MAX_IDS = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    id: int
    status: int                      # 200, or the status the single action would have answered
    item: ItemSummary | None = None
    error: str | None = None
    similar: tuple[int, ...] = ()     # resolve: the open copies resolved with the item
    resolved_with: int | None = None  # resolve: this item was resolved as a copy of that one


async def _one(work: WorkService, user: UserInfo, item_id: int, action: str, args: dict[str, Any]) -> ItemSummary:
    if action == "spam":
        return await work.set_status(user, item_id, ItemStatus.SPAM)
    if action == "transfer":
        return await work.transfer(user, item_id, args["team"], args["reason"])
    return await handover.assign(work, user, item_id, args["user"], reason=args.get("reason"),
                                 override=bool(args.get("override")))


async def run(work: WorkService, user: UserInfo, ids: Sequence[int], action: str,
              args: dict[str, Any]) -> list[Outcome]:
    """Do ``action`` on each item in order (an id listed twice is done once)."""
    if action not in ACTIONS:
        raise Invalid(f"action must be one of {list(ACTIONS)}")
    out: list[Outcome] = []
    copy_of: dict[int, int] = {}
    for item_id in dict.fromkeys(ids):
        try:
            if item_id in copy_of:
                out.append(Outcome(item_id, 200, item=await work.get(user, item_id), resolved_with=copy_of[item_id]))
            elif action == "resolve":
                item, done = await similar.resolve_with_similar(work, user, item_id)
                copy_of.update(dict.fromkeys(done, item_id))
                out.append(Outcome(item_id, 200, item=item, similar=tuple(done)))
            else:
                out.append(Outcome(item_id, 200, item=await _one(work, user, item_id, action, args)))
        except DomainError as e:
            out.append(Outcome(item_id, e.status, error=e.detail))
    log.info("bulk_action", action=action, user=user.name, items=len(out), done=sum(o.status == 200 for o in out))
    return out
