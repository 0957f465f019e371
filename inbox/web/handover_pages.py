"""The item page's hand-over part: a lead assigns the item to an agent of the team (with a reason
to go past their capacity), anyone of the team reopens a resolved item. The forms post here; the
rules are inbox.work.handover's, as in the API."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.engine import Connection

from inbox.domain.types import ItemSummary, UserInfo
from inbox.errors import Conflict, Invalid
from inbox.storage.repo import accounts, views
from inbox.storage.tables import ItemStatus
from inbox.web import i18n
from inbox.web.authn import require_user
from inbox.web.error_text import translate_error
from inbox.web.inputs import ASCII_DIGITS
from inbox.web.keys import WORK
from inbox.web.render import flash, form, redirect
from inbox.work import handover, similar

__all__ = ["routes", "handover_ctx", "handover_reads"]

routes = web.RouteTableDef()
_ = i18n.gettext

SIMILAR_LINKS = 20
"""Copies of the post linked from an item page; the rest are counted ("and 180 more")."""


def _item_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not ASCII_DIGITS.fullmatch(raw) or not 0 < int(raw) < 2**63:
        raise web.HTTPNotFound()
    return int(raw)


def handover_reads(c: Connection, user: UserInfo, item: ItemSummary) -> tuple[list[int], list[UserInfo]]:
    """The open copies of the item's post and the team's people the user may assign it to, read
    inside the item page's read unit (only what the user may use: nothing for an outsider)."""
    member = user.is_admin or item.team in user.teams
    if not member or item.status not in ItemStatus.OPEN:
        return [], []
    copies = views.similar_open_sync(c, [item.id]).get(item.id, [])
    people = accounts.list_users_sync(c, item.team) if handover.may_assign_others(user, item.team) else []
    return copies, people


def handover_ctx(user: UserInfo, item: ItemSummary, reads: tuple[list[int], list[UserInfo]]) -> dict[str, Any]:
    """What the item page needs to offer assign and reopen (only to whoever may use them)."""
    member = user.is_admin or item.team in user.teams
    copies, people = reads
    ctx: dict[str, Any] = {"may_reopen": member and item.status in (ItemStatus.RESOLVED, ItemStatus.SPAM),
                           "may_assign": False, "assignees": [], "similar": copies, "copy_of": None,
                           "similar_links": SIMILAR_LINKS}
    if member and item.status in ItemStatus.OPEN:
        # the oldest copy is the original: the reply goes to that post, from its page
        first = min([item.id, *copies])
        ctx["copy_of"] = first if first != item.id else None
    if people:
        ctx["assignees"] = [p for p in people if p.role in ("agent", "lead")]
        ctx["may_assign"] = bool(ctx["assignees"])
    return ctx


@routes.post("/items/{id}/assign")
async def assign(request: web.Request) -> web.Response:
    user = require_user(request)
    item_id = _item_id(request)
    data = await form(request)
    name = data.get("user", "").strip()
    reason = data.get("reason", "").strip() or None
    try:
        item = await handover.assign(request.app[WORK], user, item_id, name, reason=reason, override=bool(reason))
    except (Invalid, Conflict) as e:
        await flash(request, translate_error(e.detail), "error")
        raise redirect(f"/items/{item_id}") from None
    await flash(request, _("Assigned to %(name)s.") % {"name": item.assignee or name}, "ok")
    raise redirect(f"/items/{item_id}")


@routes.post("/items/{id}/reopen")
async def reopen(request: web.Request) -> web.Response:
    user = require_user(request)
    item_id = _item_id(request)
    await handover.reopen(request.app[WORK], user, item_id)
    await flash(request, _("Reopened: the item is back in its queue."), "ok")
    raise redirect(f"/items/{item_id}")


@routes.post("/items/{id}/resolve-similar")
async def resolve_similar(request: web.Request) -> web.Response:
    user = require_user(request)
    item, done = await similar.resolve_with_similar(request.app[WORK], user, _item_id(request))
    await flash(request, _("Resolved with %(n)s similar.") % {"n": len(done)}, "ok")
    raise redirect(f"/queues/{item.team}")
