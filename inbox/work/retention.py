"""Retention: per team (``retention = "180d"`` in its settings), items closed (resolved or spam)
longer ago than that lose their text, author, link, raw payload, notes and replies, and the posts
fetched as their thread context go too (unless a mention that still holds its text answers them). The rows stay,
so the counts behind metrics do not change. Run by a scheduled job and by
`social-inbox retention run`; time comes from the injected clock."""
from __future__ import annotations

from typing import Any

import structlog

from inbox.storage.repo import context_posts, items, personal_data

__all__ = ["run_retention", "RETAINED"]

log = structlog.get_logger(__name__)

RETAINED = "retention_applied"
_BATCH = 500


async def run_retention(svc: Any, *, actor: str = "retention") -> dict[str, int]:
    """Apply every team's retention now; returns the number of items stripped per team."""
    now = svc.clock.now()
    done: dict[str, int] = {}
    for team in svc.settings.teams:
        keep = getattr(team, "retention", None)
        if keep is None:
            continue
        before = now - keep
        total = 0
        while True:
            async with svc.engine.begin() as conn:
                ids = await personal_data.retention_candidates(team.name, before, conn=conn, limit=_BATCH)
                if not ids:
                    break
                await personal_data.strip_personal_data(ids, conn=conn)
                await context_posts.drop_for_stripped(ids, conn=conn)
                total += len(ids)
        if total:
            async with svc.engine.begin() as conn:
                await items.insert_events([{"item_id": None, "kind": RETAINED, "actor": actor, "team": team.name,
                                            "data": {"items": total, "before": before.isoformat()},
                                            "created_at": now}], conn=conn)
            log.info("retention_applied", team=team.name, items=total)
        done[team.name] = total
    return done
