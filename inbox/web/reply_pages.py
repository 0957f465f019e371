"""The reply part of the item page: the composer (platform limit, canned responses, preview), the
replies with their live status, approval by a lead, retry of a failed reply, and the thread
context (parent, root, the author's earlier mentions). The same ReplyService as the API."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Connection

from inbox.domain.reply_text import GTLDS, RULES, fill_placeholders
from inbox.domain.types import ItemSummary, UserInfo
from inbox.errors import NotFound
from inbox.settings import CannedResponse
from inbox.storage.engine import read_conn
from inbox.storage.repo import replies as rrepo
from inbox.web import i18n
from inbox.web.authn import require_user
from inbox.web.error_text import translate_error
from inbox.web.inputs import ASCII_DIGITS
from inbox.web.keys import REPLIES, SERVICES, WORK
from inbox.web.render import flash, form, redirect, render
from inbox.work.item_actions import visible_teams
from inbox.work.replies import public_reply

__all__ = ["routes", "reply_page_ctx", "reply_reads", "ReplyReads", "DEFAULT_CANNED"]

routes = web.RouteTableDef()
_ = i18n.gettext

DEFAULT_CANNED = (
    CannedResponse(title="Thanks, we are on it", lang="en",
                   text="Hi {author}, thanks for letting us know. I'm {agent} and I'm looking into it now."),
    CannedResponse(title="Please send a direct message", lang="en",
                   text="Hi {author}, could you send us a direct message with your order number? {agent}"),
    CannedResponse(title="Grazie, ci pensiamo noi", lang="it",
                   text="Ciao {author}, grazie della segnalazione. Sono {agent} e me ne occupo subito."),
    CannedResponse(title="Scrivici in privato", lang="it",
                   text="Ciao {author}, puoi scriverci in privato con il numero d'ordine? {agent}"),
)


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not ASCII_DIGITS.fullmatch(raw) or not 0 < int(raw) < 2**63:  # str.isdigit() takes other scripts' digits
        raise NotFound("no such resource")
    return int(raw)


def _shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The replies as the page shows them: a failed reply's reason marked as the platform's own
    refusal (an HTTP answer) or as the sender's (a credential gone, given up after retries), the
    latter in the reader's language when its shape is known."""
    out = []
    for r in rows:
        error = r.get("error") or ""
        out.append({**r, "refused": error.startswith("HTTP "),
                    "error_shown": error if error.startswith("HTTP ") else translate_error(error)})
    return out


def _canned(request: web.Request, item: ItemSummary, user: UserInfo) -> list[dict[str, str]]:
    team = request.app[SERVICES].settings.team(item.team)
    own = list(team.canned_responses) if team is not None else []
    agent = user.display_name or user.name
    return [{"title": c.title, "lang": c.lang, "text": fill_placeholders(c.text, author=item.author, agent=agent)}
            for c in (own or DEFAULT_CANNED)]


@dataclass(frozen=True, slots=True)
class ReplyReads:
    """What the item page shows of replies and thread context, as read from the database."""
    replies: list[dict[str, Any]]
    parent: dict[str, Any] | None
    root: dict[str, Any] | None
    earlier: list[dict[str, Any]]


def reply_reads(c: Connection, user: UserInfo, item: ItemSummary, mention: dict[str, Any]) -> ReplyReads:
    """:class:`ReplyReads` of an item, inside the item page's read unit."""
    source = str(mention.get("source") or item.source)
    root_ext = mention.get("thread_id")
    return ReplyReads(
        replies=rrepo.for_item_sync(c, item.id),
        parent=rrepo.parent_mention_sync(c, source, mention.get("reply_to_id")),
        root=(rrepo.parent_mention_sync(c, source, root_ext)
              if root_ext and root_ext not in (mention.get("reply_to_id"), mention.get("external_id")) else None),
        earlier=rrepo.earlier_mentions_sync(c, source, mention.get("author_handle"), item.id,
                                            teams=visible_teams(user)))


def reply_page_ctx(request: web.Request, user: UserInfo, item: ItemSummary, mention: dict[str, Any],
                   reads: ReplyReads) -> dict[str, Any]:
    """What the item page shows of replies and thread context."""
    svc = request.app[SERVICES]
    source = str(mention.get("source") or item.source)
    rows = _shown([public_reply(r) for r in reads.replies])
    parent, root, earlier = reads.parent, reads.root, reads.earlier
    parent_gone = bool(parent and parent.get("gone"))
    parent = None if parent_gone else parent
    root = None if root and root.get("gone") else root
    platform = str(mention.get("platform") or "")
    rule = RULES.get(platform)
    team = svc.settings.team(item.team)
    why = request.app[REPLIES].capability(source)
    return {"replies": rows, "reply_unavailable": translate_error(why) if why else None,
            "reply_rule": rule, "reply_platform": platform, "reply_tlds": GTLDS, "canned": _canned(request, item, user),
            "reply_approval": bool(team and team.needs_reply_approval),
            "is_lead": user.role in ("lead", "admin"), "parent_post": parent, "root_post": root,
            "parent_missing": mention.get("reply_to_id") if parent is None and not parent_gone else None,
            "parent_gone": parent_gone,
            "earlier_mentions": earlier}


@routes.get("/items/{id}/replies")
async def replies_fragment(request: web.Request) -> web.Response:
    """The replies list of an item page, re-fetched when the item changes (live status)."""
    user = require_user(request)
    item = await request.app[WORK].get(user, _id(request))
    svc = request.app[SERVICES]
    async with read_conn(svc.engine) as conn:
        rows = _shown([public_reply(r) for r in await rrepo.for_item(item.id, conn=conn)])
    member = user.is_admin or item.team in user.teams
    return await render(request, "_replies.html", {"item": item, "replies": rows, "member": member,
                                                   "is_lead": user.role in ("lead", "admin")})


@routes.post("/items/{id}/reply")
async def reply_submit(request: web.Request) -> web.Response:
    user = require_user(request)
    item_id = _id(request)
    data = await form(request)
    row = await request.app[REPLIES].compose(user, item_id, data.get("text", ""))
    await flash(request, _("Reply waiting for a lead's approval.") if row["status"] == "pending_approval"
                else _("Reply queued: it goes out in a moment."), "ok")
    raise redirect(f"/items/{item_id}#replies")


async def _review(request: web.Request, action: str) -> web.Response:
    user = require_user(request)
    reply_id = _id(request)
    data = await form(request)
    svc = request.app[REPLIES]
    if action == "approve":
        row, message = await svc.approve(user, reply_id, data.get("note")), _("Reply approved.")
    elif action == "reject":
        row, message = await svc.reject(user, reply_id, data.get("note")), _("Reply rejected.")
    else:
        row, message = await svc.retry(user, reply_id), _("Reply queued again.")
    await flash(request, message, "ok")
    raise redirect(f"/items/{row['item_id']}#replies")


@routes.post("/replies/{id}/approve")
async def reply_approve(request: web.Request) -> web.Response:
    return await _review(request, "approve")


@routes.post("/replies/{id}/reject")
async def reply_reject(request: web.Request) -> web.Response:
    return await _review(request, "reject")


@routes.post("/replies/{id}/retry")
async def reply_retry(request: web.Request) -> web.Response:
    return await _review(request, "retry")
