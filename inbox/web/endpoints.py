"""Declared API endpoints: one declaration per operation names its pydantic models, registers the
aiohttp handler and contributes the OpenAPI operation. The document served at
/api/v1/openapi.json is generated from these declarations (inbox.web.openapi), and the server
parses every request and writes every answer through the same models, so document and server
cannot drift.

How to add an endpoint
----------------------
1. In a module of its own under inbox/web (e.g. ``replies_api.py``) make a collection,
   ``api = ApiRoutes("replies")``, and add the module's name to ``API_MODULES`` in
   inbox/web/openapi.py: the app registers its routes and the document lists them from there.
2. Declare each operation with ``@api.get``, ``@api.post``, ``@api.put``, ``@api.patch`` or
   ``@api.delete``, naming pydantic models (bases and shared field types in inbox/web/models.py):
   ``path=`` a :class:`~inbox.web.models.Params` of the path's ``{names}`` (invalid: 404),
   ``query=`` a ``Params`` of the query string (invalid: 422), ``body=`` a
   :class:`~inbox.web.models.Body` (a JSON object of at most ``max_body`` bytes and 16 levels,
   invalid: 422, too large: 413); give a body model ``json_schema_extra={"examples": [...]}``:
   the access matrix sends the first example. ``response=`` an :class:`~inbox.web.models.Out`
   (sent with ``status=``, default 200; ``None`` means 204 No Content), ``also=`` other statuses
   answered with a model (``{503: Health}``), ``errors=`` the problem statuses the handler
   raises (401 is added when authentication is required, 403 with ``roles``, 404 with a path
   model, 422 with a query or body model, 413 with a body). ``auth=False`` for a public endpoint,
   ``roles=("admin",)`` to admit only those roles (documented as ``x-roles``).
3. Write the handler as ``async def name(request, *, user, path, query, body)``, taking only
   the keywords its declaration provides (``user`` when authenticated), and return an instance
   of the response model, ``Reply(model, status)`` for a status in ``also``, or ``None`` (204).
   Raise inbox.errors' NotFound, Forbidden, Conflict or Invalid for refusals: they become
   problem+json.
4. Tests cover it without more work: tests/integration/test_api_contract.py runs schemathesis
   over the whole document, and tests/integration/test_access_matrix.py sends every documented
   operation as every role, on items of every team, and fails on any leak.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from inbox.errors import Forbidden, Invalid, NotFound
from inbox.web.inputs import MAX_BODY, TEXT_PATTERN, read_json_object
from inbox.web.models import NON_BLANK_PATTERN, TEAM_NAME_PATTERN

__all__ = ["ApiRoutes", "Endpoint", "Reply", "InvalidFields", "field_errors", "route_path"]

log = structlog.get_logger(__name__)

H = TypeVar("H", bound=Callable[..., Awaitable[Any]])

ERROR_TEXT = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
              405: "Method not allowed", 409: "Conflict", 413: "Body too large", 422: "Invalid input",
              429: "Too many requests", 503: "Unavailable"}
_PATTERN_TEXT = {NON_BLANK_PATTERN: "must not be blank or hold control characters",
                 TEXT_PATTERN: "must not hold control characters",
                 TEAM_NAME_PATTERN: "is not a team name"}


@dataclass(frozen=True)
class Reply:
    """A handler's answer with a status other than the declaration's ``status`` (one of ``also``)."""

    model: BaseModel
    status: int


class InvalidFields(Invalid):
    """422 with the list of invalid fields (``errors`` in the problem document)."""

    def __init__(self, detail: str, errors: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.errors = errors


def field_errors(e: ValidationError, where: str) -> list[dict[str, str]]:
    """Pydantic's errors as ``[{"loc": "body.team", "msg": ...}]`` without echoing the input."""
    out = []
    for err in e.errors(include_input=False, include_url=False):
        loc = ".".join([where, *(str(p) for p in err["loc"])])
        msg = err["msg"]
        if err["type"] == "string_pattern_mismatch":
            msg = _PATTERN_TEXT.get(str((err.get("ctx") or {}).get("pattern")), "has the wrong form")
        elif err["type"] == "extra_forbidden":
            msg = "is not a known field"
        out.append({"loc": loc, "msg": msg})
    return out


def _field_text(error: dict[str, str], where: str) -> str:
    """``'team' is required``; an error of the whole body or query (a model validator) reads as its message."""
    field = error["loc"].removeprefix(where).removeprefix(".")
    return f"'{field}' {error['msg']}" if field else error["msg"]


@dataclass
class Endpoint:
    """One declared operation."""

    method: str
    path: str
    handler: Callable[..., Awaitable[Any]]
    summary: str
    tag: str
    path_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    body_model: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    also: dict[int, type[BaseModel]] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    auth: bool = True
    roles: tuple[str, ...] = ()
    max_body: int = MAX_BODY
    raw_body: dict[str, Any] | None = None   # an OpenAPI requestBody for a handler that reads the body itself
    description: str | None = None

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def error_statuses(self) -> list[int]:
        codes = set(self.errors)
        if self.auth:
            codes.add(401)
        if self.roles:
            codes.add(403)
        if self.path_model is not None:
            codes.add(404)
        if self.query_model is not None or self.body_model is not None:
            codes.add(422)
        if self.body_model is not None:
            codes.add(413)
        return sorted(codes - {self.status} - set(self.also))

    # the request -----------------------------------------------------------------------------
    async def __call__(self, request: web.Request) -> web.StreamResponse:
        from inbox.web.authn import require_user
        kw: dict[str, Any] = {}
        if self.auth:
            user = require_user(request)
            if self.roles and user.role not in self.roles:
                raise Forbidden(f"only {', '.join(self.roles)} may do this")
            kw["user"] = user
        if self.path_model is not None:
            try:
                kw["path"] = self.path_model.model_validate(dict(request.match_info))
            except ValidationError:
                raise NotFound("no such resource") from None
        if self.query_model is not None:
            kw["query"] = self._parse(self.query_model, _single_values(request), "query")
        if self.body_model is not None:
            data = await read_json_object(request, max_bytes=self.max_body)
            kw["body"] = self._parse(self.body_model, data, "body")
        result = await self.handler(request, **kw)
        return self._respond(result)

    @staticmethod
    def _parse(model: type[BaseModel], data: dict[str, Any], where: str) -> BaseModel:
        try:
            return model.model_validate(data)
        except ValidationError as e:
            errors = field_errors(e, where)
            raise InvalidFields("; ".join(_field_text(x, where) for x in errors), errors) from None

    def _respond(self, result: Any) -> web.StreamResponse:
        if isinstance(result, web.StreamResponse) and self.raw_body is not None:
            return result
        status, model = self.status, result
        if isinstance(result, Reply):
            status, model = result.status, result.model
        want = self.response if status == self.status else self.also.get(status)
        if want is None and model is None and status == self.status:
            return web.Response(status=204)
        if want is None or not isinstance(model, want):
            raise TypeError(f"{self.operation_id} answered {type(model).__name__} with {status}; "
                            f"its declaration says {want.__name__ if want else 'nothing'}")
        return web.Response(status=status, body=model.model_dump_json(), content_type="application/json")


def _single_values(request: web.Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in request.query.keys():
        values = request.query.getall(k)
        if len(values) > 1:
            raise InvalidFields(f"'{k}' is given more than once",
                                [{"loc": f"query.{k}", "msg": "is given more than once"}])
        out[k] = values[0]
    return out


class ApiRoutes:
    """The declared endpoints of one module (see the module docstring)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self.endpoints)

    def route(self, method: str, url: str, /, *, summary: str, **kw: Any) -> Callable[[H], H]:
        models = {"path_model": kw.pop("path", None), "query_model": kw.pop("query", None),
                  "body_model": kw.pop("body", None)}
        names = set(re.findall(r"\{(\w+)\}", url))
        pm = models["path_model"]
        if names != (set(pm.model_fields) if pm is not None else set()):
            raise ValueError(f"{method} {url}: the path model must declare exactly {sorted(names)}")

        def deco(handler: H) -> H:
            self.endpoints.append(Endpoint(method=method, path=url, handler=handler, summary=summary,
                                           tag=self.tag, **models, **kw))
            return handler
        return deco

    def get(self, url: str, /, *, summary: str, **kw: Any) -> Callable[[H], H]:
        return self.route("GET", url, summary=summary, **kw)

    def post(self, url: str, /, *, summary: str, **kw: Any) -> Callable[[H], H]:
        return self.route("POST", url, summary=summary, **kw)

    def put(self, url: str, /, *, summary: str, **kw: Any) -> Callable[[H], H]:
        return self.route("PUT", url, summary=summary, **kw)

    def patch(self, url: str, /, *, summary: str, **kw: Any) -> Callable[[H], H]:
        return self.route("PATCH", url, summary=summary, **kw)

    def delete(self, url: str, /, *, summary: str, **kw: Any) -> Callable[[H], H]:
        return self.route("DELETE", url, summary=summary, **kw)

    def register(self, app: web.Application, every_path: Iterable[str] = ()) -> None:
        """Add the routes to ``app``; ``every_path`` (all declared paths) keeps a ``{param}`` segment
        from matching a static sibling (see :func:`route_path`)."""
        paths = [*every_path, *(ep.path for ep in self.endpoints)]
        for ep in self.endpoints:
            name = f"{self.tag}.{ep.operation_id}"
            url = route_path(ep.path, paths)
            if ep.method == "GET":  # with HEAD, as aiohttp's add_get
                app.router.add_get(url, _aiohttp_handler(ep), name=name)
            else:
                app.router.add_route(ep.method, url, _aiohttp_handler(ep), name=name)


def route_path(path: str, every_path: Iterable[str]) -> str:
    """The aiohttp pattern of a declared ``path``: a last segment ``{param}`` does not match the name of
    a static sibling (``/admin/rules/{name}`` beside ``/admin/rules/history``), so that a method the
    sibling does not declare answers 405 there instead of reaching the parameter's handler."""
    head, _, last = path.rpartition("/")
    m = re.fullmatch(r"\{(\w+)\}", last)
    if m is None:
        return path
    statics = sorted({p.rpartition("/")[2] for p in every_path
                      if p.rpartition("/")[0] == head and "{" not in p.rpartition("/")[2]})
    if not statics:
        return path
    return f"{head}/{{{m.group(1)}:(?!(?:{'|'.join(map(re.escape, statics))})$)[^{{}}/]+}}"


def _aiohttp_handler(ep: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await ep(request)
    handle.__name__ = handle.__qualname__ = ep.operation_id
    return handle
