"""The reply endpoints: write a reply to an item, approve, reject or retry one; and the reply part
of an item's detail (its replies, the thread context, whether and how long it can be answered)."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from inbox.domain.reply_text import RULES
from inbox.domain.types import ItemSummary, UserInfo
from inbox.storage.engine import read_conn
from inbox.storage.repo import replies as rrepo
from inbox.web.api_models import EmptyBody, ItemPath
from inbox.web.endpoints import ApiRoutes
from inbox.web.keys import REPLIES, SERVICES
from inbox.web.reply_models import ReplyBody, ReplyOut, ReplyPath, ReviewBody
from inbox.work.item_actions import visible_teams
from inbox.work.replies import public_reply

__all__ = ["api", "reply_detail"]

api = ApiRoutes("replies")


def _out(row: dict[str, Any]) -> ReplyOut:
    return ReplyOut.model_validate(public_reply(row))


@api.post("/api/v1/items/{id}/replies", summary="Reply to the item's author through the platform (the outbox)",
          path=ItemPath, body=ReplyBody, response=ReplyOut, status=202, errors=(403, 409),
          max_body=12 * 10_000 + 1024)  # a longest valid text written as \uXXXX surrogate pairs: validated, not 413
async def create_reply(request: web.Request, *, user: UserInfo, path: ItemPath, body: ReplyBody) -> ReplyOut:
    return _out(await request.app[REPLIES].compose(user, path.id, body.text))


@api.post("/api/v1/replies/{id}/approve", summary="A lead of the team approves a reply waiting for approval",
          path=ReplyPath, body=ReviewBody, response=ReplyOut, errors=(403, 409))
async def approve_reply(request: web.Request, *, user: UserInfo, path: ReplyPath, body: ReviewBody) -> ReplyOut:
    return _out(await request.app[REPLIES].approve(user, path.id, body.note))


@api.post("/api/v1/replies/{id}/reject", summary="A lead of the team rejects a reply waiting for approval (a note)",
          path=ReplyPath, body=ReviewBody, response=ReplyOut, errors=(403, 409))
async def reject_reply(request: web.Request, *, user: UserInfo, path: ReplyPath, body: ReviewBody) -> ReplyOut:
    return _out(await request.app[REPLIES].reject(user, path.id, body.note))


@api.post("/api/v1/replies/{id}/retry", summary="Queue a failed reply again", path=ReplyPath, body=EmptyBody,
          response=ReplyOut, errors=(403, 409))
async def retry_reply(request: web.Request, *, user: UserInfo, path: ReplyPath, body: EmptyBody) -> ReplyOut:
    return _out(await request.app[REPLIES].retry(user, path.id))


def _post(row: dict[str, Any] | None, external_id: str | None) -> dict[str, Any] | None:
    if row is not None and not row.get("gone"):
        return {"id": row["id"], "external_id": row["external_id"], "text": row["text"],
                "author": row["author_handle"], "url": row["url"], "created_at": row["created_at"]}
    if external_id:  # the platform named it but it is not stored here
        return {"id": None, "external_id": external_id, "text": None, "author": None, "url": None, "created_at": None}
    return None


async def reply_detail(request: web.Request, user: UserInfo, item: ItemSummary,
                       mention: dict[str, Any] | None) -> dict[str, Any]:
    """The reply part of GET /items/{id}: replies, parent, root, earlier_mentions, reply_info,
    first_response_at."""
    svc = request.app[SERVICES]
    out: dict[str, Any] = {"replies": [], "parent": None, "root": None, "earlier_mentions": [], "reply_info": None}
    async with read_conn(svc.engine) as conn:
        out["replies"] = [public_reply(r) for r in await rrepo.for_item(item.id, conn=conn)]
        if mention is None:
            return out
        source = mention["source"]
        parent_ext = mention.get("reply_to_id")
        root_ext = mention.get("thread_id")
        out["parent"] = _post(await rrepo.parent_mention(source, parent_ext, conn=conn), parent_ext)
        if root_ext and root_ext not in (parent_ext, mention["external_id"]):
            out["root"] = _post(await rrepo.parent_mention(source, root_ext, conn=conn), root_ext)
        out["earlier_mentions"] = await rrepo.earlier_mentions(source, mention.get("author_handle"), item.id,
                                                               conn=conn, teams=visible_teams(user))
        first = await rrepo.first_response_at(item.id, conn=conn)
    platform = mention["platform"]
    rule = RULES.get(platform)
    team = svc.settings.team(item.team)
    out["reply_info"] = {"available": request.app[REPLIES].capability(source) is None,
                         "reason": request.app[REPLIES].capability(source), "platform": platform,
                         "limit": rule.limit if rule else None, "unit": rule.unit if rule else None,
                         "approval": bool(team and team.needs_reply_approval)}
    out["first_response_at"] = first
    return out

