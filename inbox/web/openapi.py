"""The OpenAPI 3.1 document for /api/v1, served at /api/v1/openapi.json, generated from the
endpoint declarations of the modules in :data:`API_MODULES` (see inbox.web.endpoints for how to
declare one). The app registers the same declarations as its routes."""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel, RootModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from inbox.web.endpoints import ERROR_TEXT, ApiRoutes, Endpoint
from inbox.web.keys import SERVICES
from inbox.web.models import TEAM_MARK, TEAM_NAME_PATTERN, TEAM_REF, Problem

__all__ = ["API_MODULES", "api", "api_routes", "endpoints", "document"]

# every module that declares API endpoints (a module-level ``api = ApiRoutes(...)``); add yours here
API_MODULES: tuple[str, ...] = (
    "inbox.web.api",
    "inbox.web.replies_api",
    "inbox.web.search_api",
    "inbox.web.handover_api",
    "inbox.web.notify_api",
    "inbox.web.saved_views_api",
    "inbox.web.model_help_api",
    "inbox.web.webhook",
    "inbox.web.openapi",
    "inbox.web.admin_try_api",
    "inbox.web.admin_api",
)

api = ApiRoutes("meta")
REF = "#/components/schemas/{model}"


def api_routes() -> list[ApiRoutes]:
    return [importlib.import_module(name).api for name in API_MODULES]


def endpoints() -> list[Endpoint]:
    out = [ep for routes in api_routes() for ep in routes]
    seen: dict[str, Endpoint] = {}
    for ep in out:
        other = seen.setdefault(ep.operation_id, ep)
        if other is not ep:
            raise ValueError(f"two endpoints are called {ep.operation_id!r}: {other.path} and {ep.path}")
    return out


def _params(model: type[BaseModel] | None, where: str) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        alts = [a for a in prop.get("anyOf", []) if a != {"type": "null"}]
        if len(alts) == 1:  # an optional parameter is absent, never null, in a query string
            prop = {**{k: v for k, v in prop.items() if k not in ("anyOf", "default")}, **alts[0]}
        p: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required}
        if "description" in prop:
            p["description"] = prop.pop("description")
        p["schema"] = prop
        out.append(p)
    return out


def _json_content(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


Refs = dict[tuple[Any, JsonSchemaMode], dict[str, Any]]


def _operation(ep: Endpoint, refs: Refs) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": ep.operation_id, "summary": ep.summary, "tags": [ep.tag]}
    if ep.description:
        op["description"] = ep.description
    if not ep.auth:
        op["security"] = []
    if ep.roles:
        op["x-roles"] = list(ep.roles)
    params = _params(ep.path_model, "path") + _params(ep.query_model, "query")
    if params:
        op["parameters"] = params
    if ep.body_model is not None:
        required = bool(ep.body_model.model_json_schema().get("required"))
        op["requestBody"] = {"required": required, "content": _json_content(refs[(ep.body_model, "validation")])}
    elif ep.raw_body is not None:
        op["requestBody"] = ep.raw_body
    responses: dict[str, Any] = {}
    if ep.response is None:
        responses[str(ep.status)] = {"description": "No content"}
    else:
        responses[str(ep.status)] = {"description": "OK",
                                     "content": _json_content(refs[(ep.response, "serialization")])}
    for code, model in sorted(ep.also.items()):
        responses[str(code)] = {"description": ERROR_TEXT.get(code, "See the body"),
                                "content": _json_content(refs[(model, "serialization")])}
    problem = {"application/problem+json": {"schema": refs[(Problem, "serialization")]}}
    for code in ep.error_statuses():
        responses[str(code)] = {"description": ERROR_TEXT.get(code, "Error"), "content": problem}
    op["responses"] = responses
    return op


def _team_refs(node: Any) -> Any:
    """The document with each TeamName schema (marked by inbox.web.models) as a reference to the
    one TeamName component, which lists the configured teams."""
    if isinstance(node, dict):
        if node.get(TEAM_MARK):
            return {"$ref": TEAM_REF}
        return {k: _team_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_team_refs(v) for v in node]
    return node


def _team_schema(teams: tuple[str, ...] | None) -> dict[str, Any]:
    if teams:
        return {"type": "string", "enum": sorted(teams), "description": "a configured team"}
    return {"type": "string", "pattern": TEAM_NAME_PATTERN, "description": "a configured team"}


@lru_cache(maxsize=8)
def _document(teams: tuple[str, ...] | None) -> dict[str, Any]:
    eps = endpoints()
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Problem, "serialization"): None}
    for ep in eps:
        if ep.body_model is not None:
            wanted[(ep.body_model, "validation")] = None
        for model in ([ep.response] if ep.response else []) + list(ep.also.values()):
            wanted[(model, "serialization")] = None
    refs, defs = models_json_schema(list(wanted), ref_template=REF)
    schemas = {**defs.get("$defs", {}), "TeamName": _team_schema(teams)}
    paths: dict[str, dict[str, Any]] = {}
    for ep in eps:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, refs)
    doc: dict[str, Any] = _team_refs({
        "openapi": "3.1.0",
        "info": {"title": "social-inbox API", "version": "1",
                 "description": "Errors are RFC 9457 problem details (application/problem+json)."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "inbox_session"}},
            "schemas": schemas,
        },
    })
    return doc


def document(teams: list[str] | None = None) -> dict[str, Any]:
    """The document; ``teams`` (the configured team names) becomes the TeamName enum."""
    return _document(tuple(sorted(teams)) if teams else None)


class OpenAPIDocument(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document."""


@api.get("/api/v1/openapi.json", summary="This document", auth=False, response=OpenAPIDocument)
async def openapi_json(request: web.Request) -> OpenAPIDocument:
    svc = request.app.get(SERVICES)
    return OpenAPIDocument(document([t.name for t in svc.settings.teams] if svc else None))
