"""The JSON API under /api/v1 (see openapi.py for the document that describes it)."""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from inbox.domain.types import ItemSummary, UserInfo
from inbox.errors import Forbidden, Invalid, NotFound
from inbox.settings import parse_duration
from inbox.storage.engine import read_conn, reader
from inbox.storage.repo import connector_state, items, page_reads
from inbox.storage.tables import ItemStatus
from inbox.web import counts as counts_cache
from inbox.web.authn import require_user
from inbox.web.keys import SERVICES, WORK
from inbox.work import routing_metrics as metrics_mod

__all__ = ["routes", "health_payload"]

routes = web.RouteTableDef()
MAX_BODY = 64 * 1024


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, default=str))


async def _body(request: web.Request, *required: str) -> dict[str, Any]:
    if request.content_length and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    raw = await request.read()
    if not raw:
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Invalid("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Invalid("the request body must be a JSON object")
    for k in required:
        if not isinstance(data.get(k), str) or not data[k].strip():
            raise Invalid(f"'{k}' is required and must be a non-empty string")
    return data


def _int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise Invalid(f"'{name}' must be an integer") from None
    if not lo <= v <= hi:
        raise Invalid(f"'{name}' must be between {lo} and {hi}")
    return v


def _item_id(request: web.Request) -> int:
    try:
        v = int(request.match_info["id"])
    except ValueError:
        raise NotFound("no such item") from None
    if not 0 < v < 2**63:
        raise NotFound("no such item")
    return v


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
                      "mentions_fetched": s["mentions_fetched"]})
    return {"status": "ok" if db == "ok" else "degraded", "database": db,
            "model_version": svc.classifier.version if svc.classifier else None, "connectors": conns}


@routes.get("/api/v1/health")
async def health(request: web.Request) -> web.Response:
    payload = await health_payload(request)
    return _json(payload, 200 if payload["database"] == "ok" else 503)


@routes.get("/api/v1/queues")
async def list_queues(request: web.Request) -> web.Response:
    user = require_user(request)
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
    return _json({"queues": out})


@routes.get("/api/v1/queues/{team}/items")
async def queue_items(request: web.Request) -> web.Response:
    user = require_user(request)
    team = request.match_info["team"]
    work = request.app[WORK]
    work.check_team(user, team)
    status = request.query.get("status")
    statuses = ItemStatus.OPEN if status in (None, "", "open") else tuple(status.split(","))
    bad = [s for s in statuses if s not in ItemStatus.ALL]
    if bad:
        raise Invalid(f"unknown status {bad[0]!r}; statuses are {', '.join(ItemStatus.ALL)}")
    limit = _int(request, "limit", 50, 1, 200)
    offset = _int(request, "offset", 0, 0, 10_000_000)
    async with read_conn(request.app[SERVICES].engine, long=offset > page_reads.SHALLOW_OFFSET) as conn:
        rows = await page_reads.queue_page(team, conn=conn, statuses=statuses, limit=limit + 1, offset=offset)
    more = len(rows) > limit
    return _json({"team": team, "items": [r.public() for r in rows[:limit]], "limit": limit, "offset": offset,
                  "next_offset": offset + limit if more else None})


def _item_payload(item: ItemSummary) -> dict[str, Any]:
    return {"item": item.public()}


@routes.post("/api/v1/queues/{team}/claim")
async def claim(request: web.Request) -> web.Response:
    user = require_user(request)
    item = await request.app[WORK].claim_next(user, request.match_info["team"])
    return _json({"item": item.public() if item else None})


@routes.get("/api/v1/items/{id}")
async def get_item(request: web.Request) -> web.Response:
    user = require_user(request)
    work = request.app[WORK]
    item = await work.get(user, _item_id(request))
    svc = request.app[SERVICES]
    async with read_conn(svc.engine) as conn:
        events = await items.events_for(item.id, conn=conn)
        decision = await items.decision_for(item.id, conn=conn)
        mention = await items.mention_row(item.id, conn=conn)
    out = _item_payload(item)
    out["mention"] = {k: mention[k] for k in ("platform", "external_id", "author_name", "author_followers",
                                              "reply_to_id", "thread_id", "metrics", "is_repost", "edited_at")} \
        if mention else None
    out["decision"] = {k: decision[k] for k in ("team", "label", "confidence", "probabilities", "model_version",
                                                "rule", "reason", "watchers", "priority", "action",
                                                "explanation", "created_at")} if decision else None
    out["notes"] = [{"author": e["actor"], "text": (e["data"] or {}).get("text"), "created_at": e["created_at"]}
                    for e in events if e["kind"] == "note"]
    out["history"] = [{"kind": e["kind"], "actor": e["actor"], "team": e["team"],
                       "data": {k: v for k, v in (e["data"] or {}).items() if k != "text"},
                       "created_at": e["created_at"]} for e in events]
    return _json(out)


@routes.post("/api/v1/items/{id}/transfer")
async def transfer(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await _body(request, "team", "reason")
    item = await request.app[WORK].transfer(user, _item_id(request), body["team"].strip(), body["reason"])
    return _json(_item_payload(item))


@routes.post("/api/v1/items/{id}/notes")
async def add_note(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await _body(request, "text")
    item = await request.app[WORK].add_note(user, _item_id(request), body["text"])
    return _json(_item_payload(item), status=201)


@routes.post("/api/v1/items/{id}/resolve")
async def resolve(request: web.Request) -> web.Response:
    user = require_user(request)
    await _body(request)
    item = await request.app[WORK].set_status(user, _item_id(request), ItemStatus.RESOLVED)
    return _json(_item_payload(item))


@routes.post("/api/v1/items/{id}/status")
async def set_status(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await _body(request, "status")
    item = await request.app[WORK].set_status(user, _item_id(request), body["status"].strip())
    return _json(_item_payload(item))


@routes.post("/api/v1/items/{id}/release")
async def release(request: web.Request) -> web.Response:
    user = require_user(request)
    await _body(request)
    item = await request.app[WORK].release(user, _item_id(request))
    return _json(_item_payload(item))


def _metrics_scope(user: UserInfo, team: str | None) -> str | None:
    if user.role in ("manager", "admin"):
        return team
    if user.role == "lead":
        if team is None or team not in user.teams:
            raise Forbidden("leads see the metrics of their own teams: pass ?team=")
        return team
    raise Forbidden("metrics are for managers, leads and admins")


@routes.get("/api/v1/metrics")
async def get_metrics(request: web.Request) -> web.Response:
    user = require_user(request)
    team = _metrics_scope(user, request.query.get("team") or None)
    try:
        since = parse_duration(request.query.get("since", "7d"))
    except ValueError as e:
        raise Invalid(f"'since': {e}") from None
    svc = request.app[SERVICES]
    m = await metrics_mod.compute_metrics(svc.engine, svc.settings, svc.clock.now(), since, team=team)
    return _json(m)
