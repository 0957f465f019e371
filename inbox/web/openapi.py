"""The OpenAPI 3.1 document for /api/v1, served at /api/v1/openapi.json."""
from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["routes", "document"]

routes = web.RouteTableDef()

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _err(*codes: int) -> dict[str, Any]:
    text = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
            409: "Conflict", 413: "Body too large", 422: "Invalid input", 503: "Unavailable"}
    return {str(c): {"description": text[c], "content": _PROBLEM} for c in codes}


def _ok(schema: dict[str, Any], code: int = 200, desc: str = "OK") -> dict[str, Any]:
    return {str(code): {"description": desc, "content": {"application/json": {"schema": schema}}}}


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_TEAM = {"name": "team", "in": "path", "required": True, "schema": {"type": "string"}}
_ITEM_RESP = {"$ref": "#/components/schemas/ItemEnvelope"}


def document(teams: list[str] | None = None) -> dict[str, Any]:
    """The document; ``teams`` (the configured team names) narrows the transfer target."""
    team_schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if teams:
        team_schema = {"type": "string", "enum": sorted(teams)}
    item_ops = lambda summary, body=None, code=200: {  # noqa: E731
        "summary": summary, "parameters": [_ID],
        **({"requestBody": {"required": True, "content": {"application/json": {"schema": body}}}} if body else {}),
        "responses": {**_ok(_ITEM_RESP, code), **_err(401, 403, 404, 409, 422)},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "social-inbox API", "version": "1"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/v1/health": {"get": {"summary": "Service and connector health", "security": [],
                                       "responses": {**_ok({"$ref": "#/components/schemas/Health"}),
                                                     **{"503": {"description": "database unavailable",
                                                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}}},
            "/api/v1/queues": {"get": {"summary": "The caller's queues with counts",
                                       "responses": {**_ok({"type": "object", "required": ["queues"], "properties": {
                                           "queues": {"type": "array", "items": {"$ref": "#/components/schemas/Queue"}}}}),
                                           **_err(401)}}},
            "/api/v1/queues/{team}/items": {"get": {
                "summary": "Open items of a queue, by priority then SLA due time",
                "parameters": [_TEAM,
                               {"name": "status", "in": "query", "schema": {"type": "string"}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                               {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                "responses": {**_ok({"type": "object", "required": ["items"], "properties": {
                    "team": {"type": "string"}, "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                    "limit": {"type": "integer"}, "offset": {"type": "integer"},
                    "next_offset": {"type": ["integer", "null"]}}}), **_err(401, 403, 404, 422)}}},
            "/api/v1/queues/{team}/claim": {"post": {
                "summary": "Claim the next item of the queue (a lease); item is null when the queue is empty",
                "parameters": [_TEAM],
                "responses": {**_ok({"type": "object", "required": ["item"], "properties": {
                    "item": {"oneOf": [{"$ref": "#/components/schemas/Item"}, {"type": "null"}]}}}),
                    **_err(401, 403, 404, 409)}}},
            "/api/v1/items/{id}": {"get": {"summary": "An item with its mention, routing decision, notes and history",
                                           "parameters": [_ID],
                                           "responses": {**_ok({"$ref": "#/components/schemas/ItemDetail"}),
                                                         **_err(401, 403, 404)}}},
            "/api/v1/items/{id}/transfer": {"post": item_ops("Move the item to another team (a labeled correction)",
                                                              {"type": "object", "required": ["team", "reason"],
                                                               "properties": {"team": team_schema,
                                                                              "reason": {"type": "string", "minLength": 1}}})},
            "/api/v1/items/{id}/notes": {"post": item_ops("Add a note", {"type": "object", "required": ["text"],
                                                                         "properties": {"text": {"type": "string", "minLength": 1,
                                                                                                 "maxLength": 5000}}}, 201)},
            "/api/v1/items/{id}/resolve": {"post": item_ops("Mark resolved")},
            "/api/v1/items/{id}/release": {"post": item_ops("Give a claimed item back to its queue")},
            "/api/v1/items/{id}/status": {"post": item_ops("Set replied, waiting, resolved or spam",
                                                            {"type": "object", "required": ["status"], "properties": {
                                                                "status": {"type": "string",
                                                                           "enum": ["claimed", "replied", "waiting", "resolved", "spam"]}}})},
            "/api/v1/metrics": {"get": {"summary": "Routing metrics (managers: all teams; leads: ?team= of theirs)",
                                        "parameters": [{"name": "since", "in": "query", "schema": {"type": "string"}},
                                                       {"name": "team", "in": "query", "schema": {"type": "string"}}],
                                        "responses": {**_ok({"type": "object"}), **_err(401, 403, 422)}}},
            "/api/v1/ingest/{connector}": {"post": {
                "summary": "Inbound webhook: HMAC-SHA256 over the raw body (X-Inbox-Signature, X-Inbox-Timestamp)",
                "security": [],
                "parameters": [{"name": "connector", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
                "responses": {**_ok({"type": "object"}, 202, "Accepted"), **_err(400, 401, 404, 413)}}},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                                             "responses": _ok({"type": "object"})}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "inbox_session"}},
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"}, "instance": {"type": "string"}}},
                "Health": {"type": "object", "required": ["status", "database", "connectors"], "properties": {
                    "status": {"type": "string"}, "database": {"type": "string"},
                    "model_version": {"type": ["string", "null"]},
                    "connectors": {"type": "array", "items": {"type": "object"}}}},
                "Queue": {"type": "object", "required": ["team", "open", "new"], "properties": {
                    "team": {"type": "string"}, "display_name": {"type": "string"}, "private": {"type": "boolean"},
                    "open": {"type": "integer"}, "new": {"type": "integer"}, "overdue": {"type": "integer"},
                    "oldest_age_seconds": {"type": ["integer", "null"]}}},
                "Item": {"type": "object", "required": ["id", "team", "status", "priority", "text"], "properties": {
                    "id": {"type": "integer"}, "team": {"type": "string"}, "status": {"type": "string"},
                    "priority": {"type": "integer"}, "label": {"type": ["string", "null"]},
                    "confidence": {"type": ["number", "null"]}, "watchers": {"type": "array", "items": {"type": "string"}},
                    "assignee": {"type": ["string", "null"]}, "text": {"type": "string"}, "source": {"type": "string"},
                    "author": {"type": ["string", "null"]}, "lang": {"type": ["string", "null"]},
                    "url": {"type": ["string", "null"]}, "created_at": {"type": ["string", "null"]},
                    "routed_at": {"type": ["string", "null"]}, "first_response_due": {"type": ["string", "null"]},
                    "resolve_due": {"type": ["string", "null"]}, "route_reason": {"type": ["string", "null"]}}},
                "ItemDetail": {"type": "object", "required": ["item", "mention", "decision", "notes", "history"],
                               "properties": {
                                   "item": {"$ref": "#/components/schemas/Item"},
                                   "mention": {"type": ["object", "null"]},
                                   "decision": {"type": ["object", "null"]},
                                   "notes": {"type": "array", "items": {"type": "object", "required": ["author", "created_at"],
                                                                         "properties": {"author": {"type": ["string", "null"]},
                                                                                        "text": {"type": ["string", "null"]},
                                                                                        "created_at": {"type": "string"}}}},
                                   "history": {"type": "array", "items": {"type": "object", "required": ["kind"],
                                                                           "properties": {"kind": {"type": "string"},
                                                                                          "actor": {"type": ["string", "null"]},
                                                                                          "team": {"type": ["string", "null"]},
                                                                                          "data": {"type": "object"},
                                                                                          "created_at": {"type": "string"}}}}}},
                "ItemEnvelope": {"type": "object", "required": ["item"], "properties": {
                    "item": {"$ref": "#/components/schemas/Item"}}},
            },
        },
    }


@routes.get("/api/v1/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    from inbox.web.keys import SERVICES
    svc = request.app.get(SERVICES)
    return web.json_response(document([t.name for t in svc.settings.teams] if svc else None))
