"""The admin API under /api/v1/admin (admins only): the configuration sections edited live
(connectors, rules, teams: list, add, replace, delete, history, rollback), each entry validated by
the same schema as the TOML file with errors per field; data-subject export and erasure; the audit
trail with filters."""
from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from inbox.domain.types import UserInfo
from inbox.errors import Conflict, NotFound
from inbox.ops import live_config
from inbox.ops.audit import AuditFilter, audit_events
from inbox.storage.engine import reader
from inbox.storage.repo import config_store
from inbox.web.endpoints import ApiRoutes, InvalidFields, Reply, field_errors
from inbox.web.keys import SERVICES
from inbox.web.models import Body, ItemId, Out, Params, QueryInt, Timestamp
from inbox.work import privacy

__all__ = ["api", "secrets_of", "entry_model", "exact_schema", "Entry", "ADMIN"]

api = ApiRoutes("admin")
ADMIN = ("admin",)
_NAME = "^[a-z0-9][a-z0-9_-]{0,63}$"
_EXAMPLES: dict[str, dict[str, Any]] = {
    "connectors": {"name": "example-news", "type": "rss", "feeds": ["https://example.org/feed.xml"], "interval": "1h"},
    "rules": {"name": "example-rule", "keywords": ["example refund"], "team": "customer_care", "priority": 2},
    "teams": {"name": "example-team", "display_name": "Example", "sla_first_response": "4h", "retention": "180d"},
}


class Entry(Body):
    """One entry of a section as the TOML file holds it; every key is checked by the file's schema."""

    model_config = ConfigDict(extra="allow", strict=False)
    name: str = Field(max_length=64, pattern=_NAME)


class SecretState(Out):
    field: str
    env: str
    set: bool


class Revision(Out):
    version: int
    actor: str | None
    created_at: Timestamp


class EntryOut(Out):
    version: int
    entry: dict[str, Any]


class NamePath(Params):
    name: str = Field(max_length=64, pattern=_NAME)


class RollbackBody(Body):
    version: int | None = Field(None, ge=1, le=2**63 - 1, description="default: the version before the one in force")

    model_config = ConfigDict(json_schema_extra={"examples": [{}]})


class Rolled(Out):
    version: int
    to_version: int | None = None


def exact_schema(model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a settings model (a TOML table) for the API document, self-contained:
    unknown keys refused as the file refuses them; free text documented with a length limit."""
    schema = model.model_json_schema(mode="validation")
    defs = schema.pop("$defs", {})

    def walk(o: Any) -> Any:
        if isinstance(o, list):
            return [walk(v) for v in o]
        if not isinstance(o, dict):
            return o
        if "$ref" in o:
            return walk(defs[o["$ref"].rsplit("/", 1)[1]])
        o = {k: walk(v) for k, v in o.items() if k != "title"}
        if o.get("type") == "string" and not ({"enum", "pattern", "const"} & o.keys()) and "maxLength" not in o:
            o["maxLength"] = 2048
        if o.get("type") == "integer":
            o.setdefault("minimum", 0)
            o.setdefault("maximum", 2**31 - 1)
        if o.get("type") == "object" and "properties" in o:
            o["additionalProperties"] = False
        return o
    return {**walk(schema), "examples": [example]}


def entry_model(name: str, model: type[BaseModel], example: dict[str, Any]) -> type[Entry]:
    """A body that takes one entry of a section; documented with the file's schema for it."""
    documented = exact_schema(model, example)

    def schema(cls: Any, core_schema: Any, handler: Any) -> dict[str, Any]:
        return documented
    return type(name, (Entry,), {"__doc__": f"One entry as a [[{name.lower()}]] table of the settings file.",
                                 "__get_pydantic_json_schema__": classmethod(schema)})


def secrets_of(entries: list[dict[str, Any]]) -> list[SecretState]:
    """For each ``*_env`` key: the variable's name and whether it is set (never its value)."""
    return [SecretState(field=f"{e.get('name')}.{k}", env=str(v), set=bool(os.environ.get(str(v))))
            for e in entries for k, v in e.items() if k.endswith("_env") and v]


def _entry(section: str, body: BaseModel) -> dict[str, Any]:
    data = body.model_dump()
    try:
        live_config.SECTIONS[section].model_validate(data)
    except ValidationError as e:
        errors = field_errors(e, "body")
        raise InvalidFields("; ".join(f"{x['loc']}: {x['msg']}" for x in errors), errors) from None
    return data


async def _store(request: web.Request, section: str, doc: list[dict[str, Any]], user: UserInfo) -> int:
    svc = request.app[SERVICES]
    try:
        return await live_config.change(svc, section, doc, actor=user.name)
    except live_config.ConfigInvalid as e:
        raise InvalidFields(str(e), [{"loc": "body", "msg": f"{x['loc']}: {x['msg']}"} for x in e.errors]) from None


def _section_api(section: str) -> None:
    base = f"/api/v1/admin/{section}"
    listing = create_model(f"{section.title()}Section", __base__=Out, version=(int | None, None),
                           secrets=(list[SecretState], []), **{section: (list[dict[str, Any]], ...)})  # type: ignore[call-overload]
    body = entry_model(f"{section.title()}Entry", live_config.SECTIONS[section], _EXAMPLES[section])
    kw: dict[str, Any] = {"roles": ADMIN}

    def named(fn: Callable[..., Awaitable[Any]], name: str) -> Callable[..., Awaitable[Any]]:
        fn.__name__ = fn.__qualname__ = name
        return fn

    async def list_(request: web.Request, *, user: UserInfo) -> BaseModel:
        svc = request.app[SERVICES]
        await live_config.load_from_db(svc)
        doc = live_config.document(svc.settings, section)
        out: BaseModel = listing(version=svc.config_versions.get(section), secrets=secrets_of(doc), **{section: doc})
        return out
    api.get(base, summary=f"The {section} in force", response=listing, **kw)(named(list_, f"admin_list_{section}"))

    async def add(request: web.Request, *, user: UserInfo, body: BaseModel) -> Reply:
        svc = request.app[SERVICES]
        entry = _entry(section, body)
        await live_config.load_from_db(svc)
        doc = live_config.document(svc.settings, section)
        if any(e.get("name") == entry["name"] for e in doc):
            raise Conflict(f"{section}: {entry['name']!r} exists; PUT {base}/{entry['name']} replaces it")
        version = await _store(request, section, [*doc, entry], user)
        return Reply(EntryOut(version=version, entry=entry), 201)
    api.post(base, summary=f"Add one of the {section}", body=body, response=EntryOut, status=201,
             errors=(409,), **kw)(named(add, f"admin_add_{section}"))

    async def replace(request: web.Request, *, user: UserInfo, path: NamePath, body: BaseModel) -> EntryOut:
        svc = request.app[SERVICES]
        entry = _entry(section, body)
        if entry["name"] != path.name:
            raise InvalidFields("body.name: must be the name in the path",
                                [{"loc": "body.name", "msg": "must be the name in the path"}])
        await live_config.load_from_db(svc)
        doc = live_config.document(svc.settings, section)
        if not any(e.get("name") == path.name for e in doc):
            raise NotFound(f"{section}: no {path.name!r}")
        version = await _store(request, section, [entry if e.get("name") == path.name else e for e in doc], user)
        return EntryOut(version=version, entry=entry)
    api.put(f"{base}/{{name}}", summary=f"Replace one of the {section}", path=NamePath, body=body,
            response=EntryOut, errors=(409,), **kw)(named(replace, f"admin_replace_{section}"))

    async def remove(request: web.Request, *, user: UserInfo, path: NamePath) -> None:
        svc = request.app[SERVICES]
        await live_config.load_from_db(svc)
        doc = live_config.document(svc.settings, section)
        if not any(e.get("name") == path.name for e in doc):
            raise NotFound(f"{section}: no {path.name!r}")
        await _store(request, section, [e for e in doc if e.get("name") != path.name], user)
    api.delete(f"{base}/{{name}}", summary=f"Delete one of the {section}", path=NamePath, response=None,
               status=204, errors=(409,), **kw)(named(remove, f"admin_delete_{section}"))

    async def history(request: web.Request, *, user: UserInfo) -> BaseModel:
        svc = request.app[SERVICES]
        async with reader(svc.engine).connect() as conn:
            rows = await config_store.history(section, conn=conn)
        return History(versions=[Revision(version=r["id"], actor=r["actor"], created_at=r["created_at"]) for r in rows])
    api.get(f"{base}/history", summary=f"Versions of the {section}", response=History,
            **kw)(named(history, f"admin_history_{section}"))

    async def roll(request: web.Request, *, user: UserInfo, body: RollbackBody) -> Rolled:
        svc = request.app[SERVICES]
        version = await live_config.rollback(svc, section, actor=user.name, to_version=body.version)
        return Rolled(version=version, to_version=body.version)
    api.post(f"{base}/rollback", summary=f"Put an earlier version of the {section} back", body=RollbackBody,
             response=Rolled, errors=(404, 409), **kw)(named(roll, f"admin_rollback_{section}"))


class History(Out):
    versions: list[Revision]


for _section in live_config.SECTIONS:
    _section_api(_section)


# ---- privacy ---------------------------------------------------------------------------------
class AuthorBody(Body):
    author: str = Field(min_length=1, max_length=256, pattern="^@?[^\\u0000-\\u0020\\u007f]+$")
    source: str | None = Field(None, max_length=64, pattern=_NAME)

    model_config = ConfigDict(json_schema_extra={"examples": [{"author": "@nobody.example"}]})


class Erased(Out):
    author_sha256: str
    source: str | None
    mentions: int
    dead_letters: int
    context_posts: int = Field(0, description="the author's posts fetched as thread context, deleted")
    tombstones: int
    rows: dict[str, int]


class SubjectExport(Out):
    author: str
    source: str | None
    mentions: list[dict[str, Any]]
    dead_letters: list[dict[str, Any]]
    context_posts: list[dict[str, Any]] = Field(default_factory=list,
                                                description="the author's posts fetched as thread context")


@api.post("/api/v1/admin/privacy/erase", summary="Erase what is stored about an author", body=AuthorBody,
          response=Erased, roles=ADMIN)
async def admin_privacy_erase(request: web.Request, *, user: UserInfo, body: AuthorBody) -> Erased:
    svc = request.app[SERVICES]
    done = await privacy.erase_author(svc.engine, body.author, actor=user.name, now=svc.clock.now(),
                                      source=body.source)
    return Erased.model_validate(done)


@api.post("/api/v1/admin/privacy/export", summary="Everything stored about an author", body=AuthorBody,
          response=SubjectExport, roles=ADMIN)
async def admin_privacy_export(request: web.Request, *, user: UserInfo, body: AuthorBody) -> SubjectExport:
    svc = request.app[SERVICES]
    doc = await privacy.subject_export(svc.engine, body.author, source=body.source)
    return SubjectExport.model_validate(_jsonable(doc))


def _jsonable(o: Any) -> Any:
    if isinstance(o, dict):
        return {k: _jsonable(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_jsonable(v) for v in o]
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return o


# ---- the audit trail -------------------------------------------------------------------------
class AuditQuery(Params):
    actor: str | None = Field(None, max_length=64)
    kind: str | None = Field(None, max_length=32)
    item: ItemId | None = None
    since: str | None = Field(None, max_length=40, description="ISO date or date-time")
    until: str | None = Field(None, max_length=40, description="ISO date or date-time")
    limit: QueryInt = Field(100, ge=1, le=1000)


class AuditEvent(Out):
    id: int
    created_at: str | None
    actor: str | None
    kind: str
    item_id: int | None
    team: str | None
    data: dict[str, Any]


class AuditList(Out):
    events: list[AuditEvent]


@api.get("/api/v1/admin/audit", summary="The audit trail, newest first", query=AuditQuery, response=AuditList,
         roles=ADMIN)
async def admin_audit(request: web.Request, *, user: UserInfo, query: AuditQuery) -> AuditList:
    svc = request.app[SERVICES]
    flt = AuditFilter.parse(actor=query.actor, kind=query.kind, item=query.item, since=query.since,
                            until=query.until, limit=query.limit)
    return AuditList(events=[AuditEvent.model_validate(e) for e in await audit_events(svc.engine, flt)])

