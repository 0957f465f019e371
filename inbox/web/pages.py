"""The agent's (and the HR recruiter's) pages: sign-in, queues with counts and oldest age, claim
next, an item in context, and the actions on it. Access rules are the WorkService's, the same as
the API's: a forbidden item answers 404 (or 403 for a non-private queue) and shows nothing of it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Connection

from inbox.domain.people_notify import Prefs
from inbox.domain.types import ItemSummary, QueueRow, UserInfo
from inbox.errors import Conflict, Invalid, NotFound
from inbox.storage.engine import read_conn
from inbox.storage.repo import accounts, items, page_reads, queue_rows, revisions
from inbox.storage.repo.people_notify import unread_about
from inbox.storage.tables import ItemStatus
from inbox.web import counts as counts_cache
from inbox.web import i18n
from inbox.web.authcache import forget_all
from inbox.web.authn import require_user
from inbox.web.error_text import translate_error
from inbox.web.feature_words import feature_phrases
from inbox.web.handover_pages import handover_ctx, handover_reads
from inbox.web.inputs import ASCII_DIGITS
from inbox.web.keys import SERVICES, USER_KEY, WORK
from inbox.web.logins import LoginThrottled, check_credentials
from inbox.web.notify_api import header_reads, keep_header, mark_ids
from inbox.web.page_conn import page_conn
from inbox.web.render import current_user, flash, form, redirect, render, safe_next
from inbox.web.reply_pages import ReplyReads, reply_page_ctx, reply_reads
from inbox.web.routing_text import event_label, routing_summary
from inbox.web.sessions import login, logout
from inbox.work import similar
from inbox.work.item_actions import visible_teams
from inbox.work.route_explain import decision_top_features, explainable

__all__ = ["routes"]

routes = web.RouteTableDef()
_ = i18n.gettext
STATUS_ACTIONS = ("replied", "waiting", "resolved", "spam")


def _item_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not ASCII_DIGITS.fullmatch(raw) or not 0 < int(raw) < 2**63:  # str.isdigit() takes other scripts' digits
        raise NotFound("no such item")
    return int(raw)


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    if user is None:
        raise redirect("/login")
    if user.role == "manager" and not user.teams:
        raise redirect("/dashboard")
    raise redirect("/queues")


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    if current_user(request) is not None:
        raise redirect(safe_next(request.query.get("next")))
    return await render(request, "login.html", {"next": safe_next(request.query.get("next")), "name": ""})


@routes.post("/login")
async def login_submit(request: web.Request) -> web.Response:
    data = await form(request)
    name, password = data.get("name", "").strip(), data.get("password", "")
    nxt = safe_next(data.get("next"))
    try:
        user = await check_credentials(request, name, password) if name and password else None
    except LoginThrottled as e:
        page = await render(request, "login.html", {"next": nxt, "name": name, "error": _(
            "Too many failed attempts. Wait a few minutes and try again.")}, status=429)
        page.headers["Retry-After"] = str(e.retry_after)
        return page
    if user is None:
        return await render(request, "login.html", {"next": nxt, "name": name,
                                                    "error": _("Wrong user name or password.")}, status=401)
    request[USER_KEY] = user
    await login(request, user)
    raise redirect(nxt if nxt != "/queues" or user.teams or user.is_admin else "/dashboard")


@routes.post("/logout")
async def logout_submit(request: web.Request) -> web.Response:
    await logout(request)
    raise redirect("/login")


@routes.post("/settings/locale")
async def set_locale(request: web.Request) -> web.Response:
    user = require_user(request)
    data = await form(request)
    loc = data.get("locale")
    if loc not in i18n.LOCALES:
        raise Invalid("unknown language")
    svc = request.app[SERVICES]
    async with svc.engine.begin() as conn:
        await accounts.set_user_fields(user.id, {"locale": loc}, conn=conn, now=svc.clock.now())
    forget_all(request.app)
    raise redirect(safe_next(data.get("next")))


# queues ------------------------------------------------------------------------------------

async def _queue_rows(request: web.Request) -> list[dict[str, Any]]:
    user = require_user(request)
    svc = request.app[SERVICES]
    counts = await counts_cache.overview(request)
    out = []
    for t in svc.settings.teams:
        if not user.is_admin and t.name not in user.teams:
            continue
        c = counts.get(t.name, {"open": 0, "new": 0, "oldest": None, "overdue": 0})
        out.append({"team": t, **c})
    return out


@routes.get("/queues")
async def queues(request: web.Request) -> web.Response:
    user = require_user(request)
    rows = await _queue_rows(request)
    async with page_conn(request) as conn:  # the header's reads too (render)
        mine = await page_reads.my_items(user.id, conn=conn, teams=visible_teams(user), limit=20)
        watched = (await items.list_items(None, conn=conn, statuses=ItemStatus.OPEN, limit=20,
                                          watched_by=list(user.teams))
                   if user.teams and not user.is_admin else [])
        watched = [w for w in watched if w.team not in user.teams]
        tpl = "_queue_table.html" if request.query.get("partial") else "queues.html"
        return await render(request, tpl, {"queues": rows, "mine": mine, "watched": watched, "page": "queues",
                                           "counts_behind": counts_cache.behind(request)})


@routes.get("/queues/{team}")
async def queue(request: web.Request) -> web.Response:
    user = require_user(request)
    team = request.match_info["team"]
    work = request.app[WORK]
    work.check_team(user, team)
    svc = request.app[SERVICES]
    raw_offset = request.query.get("offset", "0")
    offset = min(int(raw_offset), 10_000_000) if ASCII_DIGITS.fullmatch(raw_offset) else 0
    limit = 50
    # first: a count may wait for a read on a connection of its own, which must not wait for the pool
    # while this request holds its page's connection
    counts = await counts_cache.team_counts(request, team)
    fragment = bool(request.query.get("partial"))
    available, mine, header = await svc.reads.run(_queue_reads, request, user, team, offset, limit + 1,
                                                  header=not fragment)
    if header is not None:
        keep_header(request, header)
    more = len(available) > limit
    ctx = {"team": svc.settings.team(team), "team_name": team, "available": available[:limit], "mine": mine,
           "n_available": counts["new"], "counts": counts, "offset": offset, "limit": limit,
           "next_offset": offset + limit if more else None, "page": "queue",
           "counts_behind": counts_cache.behind(request)}
    return await render(request, "_queue_items.html" if fragment else "queue.html", ctx)


def _queue_reads(c: Connection, request: web.Request, user: UserInfo, team: str, offset: int, limit: int, *,
                 header: bool) -> tuple[list[QueueRow], list[QueueRow], tuple[int, Prefs] | None]:
    """A queue page's reads, one unit (svc.reads): the rows of the team's new items from
    ``offset``, of the user's own open items of the team, and the header's state for a full page."""
    available = queue_rows.queue_rows_sync(c, team, statuses=(ItemStatus.NEW,), limit=limit, offset=offset)
    mine = queue_rows.my_queue_rows_sync(c, user.id, team)
    return available, mine, header_reads(c, request, user) if header else None


@routes.post("/queues/{team}/claim")
async def claim(request: web.Request) -> web.Response:
    user = require_user(request)
    team = request.match_info["team"]
    item = await request.app[WORK].claim_next(user, team)
    if item is None:
        await flash(request, _("The queue is empty: nothing to claim."))
        raise redirect(f"/queues/{team}")
    raise redirect(f"/items/{item.id}")


# an item ------------------------------------------------------------------------------------

@routes.get("/items/{id}")
async def item_page(request: web.Request) -> web.Response:
    return await _item_view(request, _item_id(request))


async def _item_view(request: web.Request, item_id: int, *, status: int = 200, errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None) -> web.Response:
    """The item page; after a refused form, again with the refusal next to the form (``errors``,
    in the reader's language) and what was typed kept (``values``)."""
    user = require_user(request)
    svc = request.app[SERVICES]
    found, reads = await svc.reads.run(_item_reads, request, user, item_id)
    if found is None:
        raise NotFound(f"no item {item_id}")
    if reads is None:  # notifications about the item: opening it reads them, before the header counts them
        async with page_conn(request) as conn:
            unread = await unread_about(user.id, found.id, conn=conn)
        await mark_ids(request, user, unread)  # a write: no connection held
        reads = await svc.reads.run(_item_page_reads, request, user, found)
    return await _item_render(request, user, found, reads, status=status, errors=errors, values=values)


@dataclass(frozen=True, slots=True)
class _ItemReads:
    events: list[dict[str, Any]]
    mention: dict[str, Any]
    decision: dict[str, Any] | None
    revisions: list[dict[str, Any]]
    thread: list[QueueRow]
    replies: ReplyReads
    handover: tuple[list[int], list[UserInfo]]
    header: tuple[int, Prefs]


def _item_reads(c: Connection, request: web.Request, user: UserInfo, item_id: int
                ) -> tuple[ItemSummary | None, _ItemReads | None]:
    """The item page's reads, one unit (svc.reads): the item as the user may see it and, unless
    it is not there or the user has unread notifications about it, everything else the page shows."""
    item, any_unread = page_reads.item_for_page_sync(c, item_id, user.id, teams=visible_teams(user))
    if item is None or any_unread:
        return item, None
    return item, _item_page_reads(c, request, user, item)


def _item_page_reads(c: Connection, request: web.Request, user: UserInfo, item: ItemSummary) -> _ItemReads:
    found, decision = items.mention_and_decision_sync(c, item.id)
    mention = found or {}
    return _ItemReads(
        events=items.events_for_sync(c, item.id), mention=mention, decision=decision,
        # earlier texts are kept only when an edit is stored, which sets edited_at: most mentions have none
        revisions=revisions.revisions_for_sync(c, item.id) if mention.get("edited_at") is not None else [],
        thread=queue_rows.thread_rows_sync(c, item.id, mention.get("thread_id"), mention.get("reply_to_id"),
                                            item.source, teams=visible_teams(user)),
        replies=reply_reads(c, user, item, mention), handover=handover_reads(c, user, item),
        header=header_reads(c, request, user))


async def _item_render(request: web.Request, user: UserInfo, item: ItemSummary, reads: _ItemReads, *, status: int,
                       errors: dict[str, str] | None, values: dict[str, str] | None) -> web.Response:
    """The item page from its reads."""
    svc = request.app[SERVICES]
    keep_header(request, reads.header)
    events, mention, decision, earlier, thread = (reads.events, reads.mention, reads.decision, reads.revisions,
                                                  reads.thread)
    member = user.is_admin or item.team in user.teams
    mine = item.assignee == user.name
    held_by_other = item.status == ItemStatus.CLAIMED and bool(item.assignee) and not mine
    may_lead = user.role in ("lead", "admin")
    ctx = {"item": item, "mention": mention, "decision": decision, "revisions": earlier,
           **await _features_ctx(svc, decision, mention, computed=request.query.get("features") == "1"),
           "routing_summary": routing_summary(decision), "event_label": event_label,
           "notes": [e for e in events if e["kind"] == "note"], "history": events, "thread": thread,
           "member": member, "mine": mine, "held_by_other": held_by_other,
           "may_change_status": member and (may_lead or not held_by_other),
           "may_release": member and item.status == ItemStatus.CLAIMED and (mine or may_lead),
           "open": item.status in ItemStatus.OPEN, "errors": errors or {}, "values": values or {},
           "transfer_teams": [t for t in svc.settings.teams if t.name != item.team],
           "page": "item", **reply_page_ctx(request, user, item, mention, reads.replies),
           **handover_ctx(user, item, reads.handover)}
    return await render(request, "item.html", ctx, status=status)


async def _features_ctx(svc: Any, decision: dict[str, Any] | None, mention: dict[str, Any], *,
                        computed: bool) -> dict[str, Any]:
    """The label probabilities and, when ``computed``, the words that weighed most (the model's
    explain() costs a millisecond or two, so the item page leaves it to the fragment below,
    fetched when the reader opens it, or to ``?features=1`` without JavaScript)."""
    probs = sorted(((decision or {}).get("probabilities") or {}).items(), key=lambda kv: -kv[1])
    features: dict[str, Any] = {"available": False}
    words: list[tuple[str, list[str]]] = []
    if computed and decision is not None and explainable(decision):
        text = str(mention.get("text") or "")
        features = await decision_top_features(svc, decision, text)
        found = features.get("features") or {} if features.get("available") else {}
        words = [(lab, phrases) for lab, _p in probs
                 if (phrases := feature_phrases([str(t[0]) for t in found.get(lab) or []], text))]
    return {"probabilities": probs, "explainable": explainable(decision), "features_computed": computed,
            "top_features": features, "top_words": words}


@routes.get("/items/{id}/features")
async def item_features(request: web.Request) -> web.Response:
    """The "words that weighed most" fragment of an item page (same access as the page)."""
    user = require_user(request)
    item = await request.app[WORK].get(user, _item_id(request))
    svc = request.app[SERVICES]
    async with read_conn(svc.engine) as conn:
        found, decision = await items.mention_and_decision(item.id, conn=conn)
    mention = found or {}
    ctx = {"decision": decision, **await _features_ctx(svc, decision, mention, computed=True)}
    return await render(request, "_features.html", ctx)


async def _back(request: web.Request, item_id: int, message: str) -> web.HTTPSeeOther:
    await flash(request, message, "ok")
    return redirect(f"/items/{item_id}")


@routes.post("/items/{id}/status")
async def item_status(request: web.Request) -> web.Response:
    user = require_user(request)
    item_id = _item_id(request)
    data = await form(request)
    status = data.get("status", "")
    if status not in (*STATUS_ACTIONS, "claimed"):
        raise Invalid("unknown status")
    labels = {"replied": _("Marked as replied."), "waiting": _("Marked as waiting for the customer."),
              "resolved": _("Resolved."), "spam": _("Marked as spam."), "claimed": _("You took this item.")}
    if status == "resolved":  # copies of the post are one item: they are resolved with it
        item, done = await similar.resolve_with_similar(request.app[WORK], user, item_id)
        if done:
            labels["resolved"] = _("Resolved with %(n)s similar.") % {"n": len(done)}
    else:
        item = await request.app[WORK].set_status(user, item_id, status)
    if status in ("resolved", "spam"):
        await flash(request, labels[status], "ok")
        raise redirect(f"/queues/{item.team}")
    raise await _back(request, item_id, labels[status])


@routes.post("/items/{id}/note")
async def item_note(request: web.Request) -> web.Response:
    user = require_user(request)
    item_id = _item_id(request)
    data = await form(request)
    try:
        await request.app[WORK].add_note(user, item_id, data.get("text", ""))
    except (Invalid, Conflict) as e:
        return await _item_view(request, item_id, status=e.status, errors={"note": translate_error(e.detail)},
                                values={"note": data.get("text", "")})
    raise await _back(request, item_id, _("Note added."))


@routes.post("/items/{id}/transfer")
async def item_transfer(request: web.Request) -> web.Response:
    user = require_user(request)
    item_id = _item_id(request)
    data = await form(request)
    team = data.get("team", "").strip()
    before = await request.app[WORK].get(user, item_id)
    try:
        await request.app[WORK].transfer(user, item_id, team, data.get("reason", ""))
    except (Invalid, Conflict) as e:
        return await _item_view(request, item_id, status=e.status, errors={"transfer": translate_error(e.detail)},
                                values={"team": team, "reason": data.get("reason", "")})
    svc = request.app[SERVICES]
    target = svc.settings.team(team)
    await flash(request, _("Transferred to %(team)s.") % {"team": target.display_name if target else team}, "ok")
    # after a transfer the item may no longer be visible to the agent: back to their queue
    raise redirect(f"/queues/{before.team}")


@routes.post("/items/{id}/release")
async def item_release(request: web.Request) -> web.Response:
    user = require_user(request)
    item_id = _item_id(request)
    item = await request.app[WORK].release(user, item_id)
    await flash(request, _("Released back to the queue."), "ok")
    raise redirect(f"/queues/{item.team}")
