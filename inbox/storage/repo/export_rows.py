"""Rows for `social-inbox export`: one row per mention."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_DECISION, T_ITEM, T_MENTION, T_REPLY, T_USER

__all__ = ["export_rows"]


async def export_rows(*, conn: AsyncConnection, team: str | None = None, status: str | None = None,
                      batch: int = 2000) -> AsyncIterator[dict[str, Any]]:
    last = (select(T_DECISION.c.mention_id, func.max(T_DECISION.c.id).label("did"))
            .group_by(T_DECISION.c.mention_id).subquery())
    q = (select(T_MENTION.c.id, T_MENTION.c.source, T_MENTION.c.external_id, T_MENTION.c.text, T_MENTION.c.lang,
                T_MENTION.c.platform, T_MENTION.c.url, T_MENTION.c.author_handle, T_MENTION.c.is_repost,
                T_DECISION.c.label, T_DECISION.c.confidence, T_ITEM.c.team.label("item_team"),
                T_DECISION.c.team.label("decision_team"), T_ITEM.c.watchers, T_ITEM.c.status,
                T_ITEM.c.priority, T_USER.c.name.label("assignee"), T_MENTION.c.created_at,
                T_DECISION.c.created_at.label("routed_at"), T_DECISION.c.reason.label("route_reason"),
                T_DECISION.c.action, T_DECISION.c.model_version, T_ITEM.c.first_response_at,
                select(func.count()).where(T_REPLY.c.item_id == T_MENTION.c.id, T_REPLY.c.status == "sent")
                .correlate(T_MENTION).scalar_subquery().label("replies_sent"))
         .select_from(T_MENTION.outerjoin(T_ITEM, T_ITEM.c.id == T_MENTION.c.id)
                      .outerjoin(last, last.c.mention_id == T_MENTION.c.id)
                      .outerjoin(T_DECISION, T_DECISION.c.id == last.c.did)
                      .outerjoin(T_USER, T_USER.c.id == T_ITEM.c.assignee_id))
         .order_by(T_MENTION.c.id))
    if team is not None:
        q = q.where(T_ITEM.c.team == team)
    if status is not None:
        q = q.where(T_ITEM.c.status == status)
    result = await conn.stream(q.execution_options(yield_per=batch))
    async for r in result:
        m = r._mapping
        yield {
            "id": m["id"], "source": m["source"], "external_id": m["external_id"], "text": m["text"],
            "lang": m["lang"], "label": m["label"], "confidence": m["confidence"],
            "team": m["item_team"] or m["decision_team"], "watchers": list(m["watchers"] or []),
            "status": m["status"] or (m["action"] if m["action"] in ("repost", "ignore") else None),
            "priority": m["priority"], "assignee": m["assignee"],
            "created_at": m["created_at"].isoformat() if m["created_at"] else None,
            "routed_at": m["routed_at"].isoformat() if m["routed_at"] else None,
            "route_reason": m["route_reason"], "platform": m["platform"], "url": m["url"],
            "author": m["author_handle"], "is_repost": m["is_repost"], "model_version": m["model_version"],
            "first_response_at": m["first_response_at"].isoformat() if m["first_response_at"] else None,
            "replies_sent": int(m["replies_sent"] or 0),
        }
