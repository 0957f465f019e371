"""The JSON API under /api/v1: queues, items and their actions, metrics and health. Each
operation is declared with its models (inbox.web.api_models) through inbox.web.endpoints, which
also generates its part of the OpenAPI document."""
from __future__ import annotations

import os
from typing import Any

from aiohttp import web

from connectors.replies import reply_health
from inbox.domain.types import UserInfo
from inbox.errors import Forbidden, Invalid, NotFound
from inbox.storage.engine import read_conn, reader
from inbox.storage.repo import connector_state, items, page_reads, revisions
from inbox.storage.tables import ItemStatus
from inbox.web import counts as counts_cache
from inbox.web.api_models import (
    Claimed,
    EmptyBody,
    Health,
    ItemDetail,
    ItemPath,
    Metrics,
    MetricsQuery,
    NoteBody,
    QueueItemsQuery,
    QueueList,
    QueuePage,
    StatusBody,
    TeamPath,
    TransferBody,
)
from inbox.web.endpoints import ApiRoutes, Reply
from inbox.web.keys import SERVICES, USER_KEY, WORK
from inbox.web.models import Item, ItemEnvelope, ResolvedEnvelope
from inbox.web.replies_api import reply_detail
from inbox.work import routing_metrics as metrics_mod
from inbox.work import similar

__all__ = ["api", "health_payload"]

api = ApiRoutes("items")


async def health_payload(request: web.Request) -> dict[str, Any]:
    svc = request.app[SERVICES]
    db = "ok"
    conns: list[dict[str, Any]] = []
    try:
        async with reader(svc.engine).connect() as conn:
            states = await connector_state.all_states(conn=conn)
    except Exception as e:  # noqa: BLE001 - health reports, never raises
        db, states = f"error: {type(e).__name__}", []
    now = svc.clock.now()
    for s in states:
        lag = (now - s["last_success_at"]).total_seconds() if s["last_success_at"] else None
        conns.append({"name": s["name"], "type": s["type"], "healthy": s["healthy"],
                      "last_success_at": s["last_success_at"], "last_error": s["last_error"],
                      "last_error_at": s["last_error_at"], "consecutive_failures": s["consecutive_failures"],
                      "lag_seconds": round(lag) if lag is not None else None,
                      "mentions_fetched": s["mentions_fetched"], "reason": s["health_reason"],
                      "warnings": s["warnings"] or [], "warnings_at": s["warnings_at"],
                      "last_poll": s["last_poll"], "replies": _reply_health(svc, s["name"])})
    # a configured source not polled yet has no state row: listed, so that a source that never runs
    # (its first poll refused, or the scheduler not running it) does not go unnoticed
    known = {s["name"] for s in states}
    for c in svc.settings.connectors if db == "ok" else []:
        if c.name not in known:
            conns.append({"name": c.name, "type": c.type, "healthy": False, "polled": False,
                          "last_success_at": None, "last_error": None, "last_error_at": None,
                          "consecutive_failures": 0, "lag_seconds": None, "mentions_fetched": 0,
                          "reason": "not polled yet", "replies": _reply_health(svc, c.name)})
    return {"status": "ok" if db == "ok" else "degraded", "database": db,
            "model_version": svc.classifier.version if svc.classifier else None, "connectors": conns}


def _reply_health(svc: Any, name: str) -> str | None:
    return reply_health(svc.settings.connector(name), os.environ)


@api.get("/api/v1/health", summary="Service health; connector details, errors and the model for admins",
         auth=False, response=Health, also={503: Health})
async def health(request: web.Request) -> Health | Reply:
    payload = Health.model_validate(await health_payload(request))
    user = request.get(USER_KEY)
    if user is None or not user.is_admin:  # minimal: errors may name internal hosts
        payload = Health(status=payload.status, database="ok" if payload.database == "ok" else "error",
                         model_version=None, connectors=[])
    return payload if payload.database == "ok" else Reply(payload, 503)


@api.get("/api/v1/queues", summary="The caller's queues with counts", response=QueueList)
async def list_queues(request: web.Request, *, user: UserInfo) -> QueueList:
    svc = request.app[SERVICES]
    now = svc.clock.now()
    counts = await counts_cache.overview(request)  # shared for up to a second (inbox.web.counts)
    out = []
    for t in svc.settings.teams:
        if not user.is_admin and t.name not in user.teams:
            continue
        c = counts.get(t.name, {"open": 0, "new": 0, "oldest": None, "overdue": 0})
        out.append({"team": t.name, "display_name": t.display_name or t.name, "private": t.private,
                    "open": c["open"], "new": c["new"], "overdue": c["overdue"],
                    "oldest_age_seconds": round((now - c["oldest"]).total_seconds()) if c["oldest"] else None})
    return QueueList.model_validate({"queues": out})


@api.get("/api/v1/queues/{team}/items", summary="Items of a queue, by priority then SLA due time",
         path=TeamPath, query=QueueItemsQuery, response=QueuePage, errors=(403,))
async def queue_items(request: web.Request, *, user: UserInfo, path: TeamPath, query: QueueItemsQuery) -> QueuePage:
    team = _configured(request, path.team)
    request.app[WORK].check_team(user, team)
    limit, offset = query.limit, query.offset
    async with read_conn(request.app[SERVICES].engine) as conn:
        rows = await page_reads.queue_page(team, conn=conn, statuses=query.statuses(), limit=limit + 1,
                                           offset=offset)
    more = len(rows) > limit
    return QueuePage(team=team, items=[Item.of(r) for r in rows[:limit]], limit=limit, offset=offset,
                     next_offset=offset + limit if more else None)


@api.post("/api/v1/queues/{team}/claim",
          summary="Claim the next item of the queue (a lease); item is null when the queue is empty",
          path=TeamPath, response=Claimed, errors=(403, 409))
async def claim(request: web.Request, *, user: UserInfo, path: TeamPath) -> Claimed:
    item = await request.app[WORK].claim_next(user, _configured(request, path.team))
    return Claimed(item=Item.of(item) if item else None)


def _configured(request: web.Request, team: str) -> str:
    """The team of a path, which must be configured (the document lists them), even for admins."""
    if request.app[SERVICES].settings.team(team) is None:
        raise NotFound(f"no queue {team!r}")
    return team


_MENTION_KEYS = ("platform", "external_id", "author_name", "author_followers", "reply_to_id", "thread_id",
                 "metrics", "is_repost", "edited_at", "provenance")
_DECISION_KEYS = ("team", "label", "confidence", "probabilities", "model_version", "rule", "reason", "watchers",
                  "priority", "action", "explanation", "created_at")


@api.get("/api/v1/items/{id}", summary="An item with its mention (where its fields came from), routing decision, "
                                      "notes, history and earlier texts",
         path=ItemPath, response=ItemDetail, errors=(403,))
async def get_item(request: web.Request, *, user: UserInfo, path: ItemPath) -> ItemDetail:
    item = await request.app[WORK].get(user, path.id)
    svc = request.app[SERVICES]
    async with read_conn(svc.engine) as conn:
        events = await items.events_for(item.id, conn=conn)
        decision = await items.decision_for(item.id, conn=conn)
        mention = await items.mention_row(item.id, conn=conn)
        earlier = await revisions.revisions_for(item.id, conn=conn)
    return ItemDetail.model_validate({
        **await reply_detail(request, user, item, mention),
        "item": Item.of(item),
        "mention": {k: mention[k] for k in _MENTION_KEYS} if mention else None,
        "decision": {k: decision[k] for k in _DECISION_KEYS} if decision else None,
        "notes": [{"author": e["actor"], "text": (e["data"] or {}).get("text"), "created_at": e["created_at"]}
                  for e in events if e["kind"] == "note"],
        "history": [{"kind": e["kind"], "actor": e["actor"], "team": e["team"],
                     "data": {k: v for k, v in (e["data"] or {}).items() if k != "text"},
                     "created_at": e["created_at"]} for e in events],
        "revisions": earlier})


_ITEM_ERRORS = (403, 409)


@api.post("/api/v1/items/{id}/transfer", summary="Move the item to another team (a labeled correction)",
          path=ItemPath, body=TransferBody, response=ItemEnvelope, errors=_ITEM_ERRORS)
async def transfer(request: web.Request, *, user: UserInfo, path: ItemPath, body: TransferBody) -> ItemEnvelope:
    item = await request.app[WORK].transfer(user, path.id, body.team, body.reason)
    return ItemEnvelope(item=Item.of(item))


@api.post("/api/v1/items/{id}/notes", summary="Add a note", path=ItemPath, body=NoteBody, response=ItemEnvelope,
          status=201, errors=_ITEM_ERRORS)
async def add_note(request: web.Request, *, user: UserInfo, path: ItemPath, body: NoteBody) -> ItemEnvelope:
    item = await request.app[WORK].add_note(user, path.id, body.text)
    return ItemEnvelope(item=Item.of(item))


@api.post("/api/v1/items/{id}/resolve", summary="Mark resolved, with the open copies of its post in its team",
          path=ItemPath, body=EmptyBody, response=ResolvedEnvelope, errors=_ITEM_ERRORS)
async def resolve(request: web.Request, *, user: UserInfo, path: ItemPath, body: EmptyBody) -> ResolvedEnvelope:
    item, done = await similar.resolve_with_similar(request.app[WORK], user, path.id)
    return ResolvedEnvelope(item=Item.of(item), similar_resolved=done)


@api.post("/api/v1/items/{id}/status",
          summary="Set claimed, replied, waiting, resolved (with the open copies of its post) or spam",
          path=ItemPath, body=StatusBody, response=ResolvedEnvelope, errors=_ITEM_ERRORS)
async def set_status(request: web.Request, *, user: UserInfo, path: ItemPath, body: StatusBody) -> ResolvedEnvelope:
    if body.status == ItemStatus.RESOLVED:  # as the item page: copies of the post are one item
        item, done = await similar.resolve_with_similar(request.app[WORK], user, path.id)
        return ResolvedEnvelope(item=Item.of(item), similar_resolved=done)
    return ResolvedEnvelope(item=Item.of(await request.app[WORK].set_status(user, path.id, body.status)))


@api.post("/api/v1/items/{id}/release", summary="Give a claimed item back to its queue", path=ItemPath,
          body=EmptyBody, response=ItemEnvelope, errors=_ITEM_ERRORS)
async def release(request: web.Request, *, user: UserInfo, path: ItemPath, body: EmptyBody) -> ItemEnvelope:
    item = await request.app[WORK].release(user, path.id)
    return ItemEnvelope(item=Item.of(item))


def _known_team(request: web.Request, team: str | None) -> None:
    if team is not None and request.app[SERVICES].settings.team(team) is None:
        raise Invalid(f"unknown team {team!r}")  # as the dashboard answers


def _metrics_scope(user: UserInfo, team: str | None) -> str | None:
    if user.role in ("manager", "admin"):
        return team
    if user.role == "lead":
        if team is None or team not in user.teams:
            raise Forbidden("leads see the metrics of their own teams: pass ?team=")
        return team
    raise Forbidden("metrics are for managers, leads and admins")


@api.get("/api/v1/metrics", summary="Routing metrics (managers: all teams; leads: ?team= of theirs)",
         query=MetricsQuery, response=Metrics, errors=(403,))
async def get_metrics(request: web.Request, *, user: UserInfo, query: MetricsQuery) -> Metrics:
    _known_team(request, query.team)
    team = _metrics_scope(user, query.team)
    svc = request.app[SERVICES]
    m = await metrics_mod.compute_metrics(svc.engine, svc.settings, svc.clock.now(), query.period(), team=team)
    return Metrics.model_validate(m)
