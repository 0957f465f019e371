"""Bulk actions from the views page: the rows checked (with the mouse or the ``select`` key) get
one action, resolve, transfer, assign or spam, each item through the single action (its checks,
transaction and audit event: inbox.work.bulk, as POST /api/v1/items/bulk); the answer lists
what was done and what was refused and why, in the reader's language."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from inbox.domain.types import UserInfo
from inbox.errors import Invalid
from inbox.storage.engine import read_conn
from inbox.storage.repo import accounts
from inbox.web import i18n
from inbox.web.authn import require_user
from inbox.web.error_text import translate_error
from inbox.web.inputs import ASCII_DIGITS
from inbox.web.keys import SERVICES, WORK
from inbox.web.render import form, form_lists, render, safe_next
from inbox.work import bulk

__all__ = ["routes", "context"]

routes = web.RouteTableDef()
N_ = i18n.N_
ACTION_TITLES = {"resolve": N_("Resolve"), "transfer": N_("Transfer to another team"),
                 "assign": N_("Assign to"), "spam": N_("Spam")}


async def context(request: web.Request, user: UserInfo) -> dict[str, Any]:
    """The bulk bar's choices: every team to transfer to, the agents and leads of the user's teams."""
    svc = request.app[SERVICES]
    async with read_conn(svc.engine) as conn:
        people = [u.name for u in await accounts.list_users(conn=conn)
                  if u.role in ("agent", "lead") and (user.is_admin or set(u.teams) & set(user.teams))]
    return {"bulk_teams": svc.settings.teams, "bulk_people": people,
            "bulk_actions": {k: i18n.gettext(v) for k, v in ACTION_TITLES.items()}}


@routes.post("/views/bulk")
async def bulk_action(request: web.Request) -> web.Response:
    user = require_user(request)
    data = await form(request)
    raw_ids = await form_lists(request, "ids")
    back = safe_next(data.get("back"), "/views")
    ids = [int(i) for i in raw_ids if ASCII_DIGITS.fullmatch(i) and 0 < int(i) < 2**63][:bulk.MAX_IDS]
    action = data.get("action", "")
    args = {"team": data.get("team") or None, "user": data.get("user") or None,
            "reason": data.get("reason", "").strip() or None, "override": bool(data.get("reason", "").strip())}
    ctx: dict[str, Any] = {"page": "views", "back": back, "action_title": i18n.gettext(ACTION_TITLES.get(action, "")),
                           "results": [], "error": None}
    try:
        if not ids:
            raise Invalid("select at least one item")
        if action == "transfer" and (args["team"] is None or args["reason"] is None):
            raise Invalid("a transfer needs a team and a reason")
        if action == "assign" and args["user"] is None:
            raise Invalid("choose who gets the items")
        outcomes = await bulk.run(request.app[WORK], user, ids, action, args)
    except Invalid as e:
        ctx["error"] = translate_error(e.detail)
        return await render(request, "bulk_results.html", ctx, status=422)
    ctx["results"] = [{"id": o.id, "ok": o.status == 200, "item": o.item,
                       "error": translate_error(o.error) if o.error else None} for o in outcomes]
    ctx["done"] = sum(r["ok"] for r in ctx["results"])
    return await render(request, "bulk_results.html", ctx)
