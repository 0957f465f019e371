"""Copies of one post (near-duplicates: the same ``cluster_key``) are handled once: an item shows
how many open copies its team has, and resolving it with its copies resolves each of them through
the single action (its own checks and audit event, whose data names the original: ``with``).
The page's resolve, the API's resolve and status endpoints and the bulk resolve all go through
:func:`resolve_with_similar`."""
from __future__ import annotations

import structlog

from inbox.domain.types import ItemSummary, UserInfo
from inbox.errors import DomainError
from inbox.storage.engine import read_conn
from inbox.storage.repo import views
from inbox.storage.tables import ItemStatus
from inbox.work.item_actions import WorkService

__all__ = ["similar_open", "resolve_with_similar"]

log = structlog.get_logger(__name__)


async def similar_open(work: WorkService, ids: list[int]) -> dict[int, list[int]]:
    """Each item's open copies in its own team (ids the caller may see, since they share the team)."""
    async with read_conn(work.engine) as conn:
        return await views.similar_open(ids, conn=conn)


async def resolve_with_similar(work: WorkService, user: UserInfo, item_id: int) -> tuple[ItemSummary, list[int]]:
    """Resolve the item, then each open copy of it; returns the item and the copies resolved (a copy
    someone else holds stays as it is)."""
    copies = (await similar_open(work, [item_id])).get(item_id, [])
    item = await work.set_status(user, item_id, ItemStatus.RESOLVED)
    done = []
    for cid in copies:
        try:
            await work.set_status(user, cid, ItemStatus.RESOLVED, with_original=item_id)
            done.append(cid)
        except DomainError as e:
            log.info("similar_not_resolved", item_id=cid, original=item_id, reason=e.detail)
    log.info("resolved_with_similar", item_id=item_id, team=item.team, user=user.name, copies=len(done))
    return item, done
