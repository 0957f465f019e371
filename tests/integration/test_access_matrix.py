"""The access matrix, generated from the served OpenAPI document: every documented operation, sent
as every role (each a member of one team, plus a manager of none and an anonymous caller), aimed
at items and queues of every team (own, foreign, private HR, foreign but watched), on SQLite and
PostgreSQL. An endpoint added to the document later is covered without touching this test.

Each item carries a unique secret word. The matrix fails on any leak:
- a response (of any status) holds the secret of an item its caller may not see;
- an operation on an item the caller may not see (``/items/{id}...``), or on a team's queue it is
  not a member of (a ``TeamName`` path parameter), answers anything but 403 or 404;
- an operation whose ``x-roles`` leave the caller's role out answers anything but 403 or 404;
- without credentials, an operation that is not public answers anything but 401;
- any answer is a 5xx, an error that is not problem+json, or lacks ``nosniff``.
Request values come from the document: the target item's id or team for ``id`` and ``team``,
body ``examples``, enums, defaults; a free-text query parameter (``q``) asks for the secret word,
so a search that leaks is caught too."""
from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from connectors.base import Mention
from inbox.domain.types import ROLES
from inbox.storage.repo import items as items_repo
from inbox.web.testing import LiveServer, SeedUser, api_token, seed_users

TEAMS = ("customer_care", "marketing", "hr", "pr", "triage")
PRIVATE = {"hr"}
HOME = ("customer_care", "hr")
SECRET = "zqsecret"
# texts the keyword classifier routes to each team ("triage": no cue, low confidence)
TEXTS = {"customer_care": "order broken refund", "marketing": "love the price offer",
         "hr": "job interview hiring", "pr": "journalist asks ceo", "triage": "zzz qqq"}
PUBLIC_PATHS = {"/api/v1/health", "/api/v1/openapi.json", "/api/v1/ingest/{connector}"}


@dataclass(frozen=True)
class Caller:
    name: str
    role: str
    teams: tuple[str, ...]


CALLERS = [Caller(f"{role}-{team}", role, (team,)) for role, team in itertools.product(ROLES, HOME)]
CALLERS.append(Caller("boss", "manager", ()))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server

    async def seed(svc: Any) -> dict[str, str]:
        made = await seed_users(svc, [SeedUser(c.name, c.role, c.teams) for c in CALLERS])
        return {name: await api_token(svc, u.id) for name, u in made.items()}

    with live_server(request.param, tmp_path_factory.mktemp("matrix"), seed) as srv:
        yield srv


@pytest.fixture(scope="module")
def doc(server: LiveServer) -> dict[str, Any]:
    import asyncio

    async def fetch() -> dict[str, Any]:
        async with aiohttp.ClientSession() as s, s.get(server.url + "/api/v1/openapi.json") as r:
            assert r.status == 200
            return await r.json()  # type: ignore[no-any-return]
    return asyncio.run(fetch())


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _value(doc: dict[str, Any], schema: dict[str, Any], name: str, item_id: int, team: str) -> Any:
    """A valid value for a parameter or field, aimed at the target item or team where it names one."""
    ref = schema.get("$ref", "")
    schema = _resolve(doc, schema)
    alts = [a for a in schema.get("anyOf", []) if a.get("type") != "null"]
    if alts:
        return _value(doc, alts[0], name, item_id, team)
    if ref.endswith("/TeamName"):
        return team
    if "examples" in schema:
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "integer":
        return item_id if name in ("id", "item_id") else max(1, int(schema.get("minimum", 1)))
    if kind == "array":
        return [_value(doc, schema.get("items", {}), name, item_id, team)]
    if kind == "object":
        return {k: _value(doc, v, k, item_id, team) for k, v in schema.get("properties", {}).items()
                if k in schema.get("required", [])}
    if kind == "boolean":
        return False
    return SECRET if name == "q" else "matrix"


@dataclass(frozen=True)
class Target:
    team: str
    item_id: int
    secret: str
    watchers: tuple[str, ...]


def _fresh_items(server: LiveServer, watched_by: str) -> dict[str, Target]:
    """One new item per team, each with its own secret word; non-private ones watched by ``watched_by``."""
    tag = uuid.uuid4().hex[:10]
    batch = [Mention(source="matrix", platform="t", external_id=f"{team}-{tag}", language="en",
                     text=f"{TEXTS[team]} {SECRET} {SECRET}{tag}{team.replace('_', '')}") for team in TEAMS]

    async def ingest() -> dict[str, Target]:
        res = await server.svc.pipeline.ingest(batch)
        out: dict[str, Target] = {}
        async with server.svc.engine.begin() as conn:
            for item_id in res.item_ids:
                it = await items_repo.get_item(item_id, conn=conn)
                assert it is not None
                watchers = [watched_by] if it.team not in PRIVATE and it.team != watched_by else []
                await items_repo.update_item(item_id, {"watchers": watchers}, conn=conn)
                out[it.team] = Target(it.team, item_id, f"{SECRET}{tag}{it.team.replace('_', '')}", tuple(watchers))
        return out
    got = server.call(ingest)
    assert set(got) == set(TEAMS), got
    return got


def _sees(caller: Caller, team: str, watchers: tuple[str, ...]) -> bool:
    if caller.role == "admin" or team in caller.teams:
        return True
    return team not in PRIVATE and bool(set(caller.teams) & set(watchers))


def _where(server: LiveServer, item_ids: list[int]) -> dict[int, tuple[str, tuple[str, ...]]]:
    """Each item's team and watchers now, read on one connection (a request may have moved any of them)."""
    async def read() -> dict[int, tuple[str, tuple[str, ...]]]:
        out: dict[int, tuple[str, tuple[str, ...]]] = {}
        async with server.svc.engine.connect() as conn:
            for item_id in item_ids:
                it = await items_repo.get_item(item_id, conn=conn)
                assert it is not None
                out[item_id] = (it.team, tuple(it.watchers))
        return out
    return server.call(read)  # type: ignore[no-any-return]


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


def _request(doc: dict[str, Any], path: str, op: dict[str, Any], target: Target) -> tuple[str, dict[str, Any], Any]:
    url, query = path, {}
    for p in op.get("parameters", []):
        v = _value(doc, p["schema"], p["name"], target.item_id, target.team)
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", str(v))
        elif p["in"] == "query" and (p.get("required") or p["name"] == "q"):
            query[p["name"]] = str(v)
    body = None
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is not None:
        body = _value(doc, content["schema"], "body", target.item_id, target.team)
    return url, query, body


def _check(errors: list[str], what: str, status: int, headers: Any, text: str) -> None:
    if status >= 500:
        errors.append(f"{what}: {status}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        errors.append(f"{what}: no nosniff")
    if status >= 400 and not headers.get("Content-Type", "").startswith("application/problem+json"):
        errors.append(f"{what}: {status} is not problem+json")


async def test_access_matrix_from_the_document(server: LiveServer, doc: dict[str, Any]) -> None:
    """Every documented operation x every caller x every team's item: no leak, refusals as the rules say."""
    errors: list[str] = []
    ops = _operations(doc)
    assert len(ops) >= 10, "the document lists the API's operations"
    async with aiohttp.ClientSession() as s:
        for method, path, op in sorted(ops, key=lambda o: o[0] == "GET", reverse=True):  # reads first
            if path in PUBLIC_PATHS and not op.get("security", True):
                continue
            for caller in CALLERS:
                targets = _fresh_items(server, watched_by=caller.teams[0] if caller.teams else "marketing")
                everyone = list(targets.values())
                for target in everyone:
                    now = _where(server, [t.item_id for t in everyone])
                    team_now, watchers_now = now[target.item_id]
                    hidden = [t.secret for t in everyone if not _sees(caller, *now[t.item_id])]
                    url, query, body = _request(doc, path, op, target)
                    what = f"{caller.name} {method} {url} (item of {team_now})"
                    async with s.request(method, server.url + url, params=query, json=body,
                                         headers={"Authorization": f"Bearer {server.seeded[caller.name]}"}) as r:
                        status, text = r.status, await r.text()
                        _check(errors, what, status, r.headers, text)
                    leaked = [h for h in hidden if h in text]
                    if leaked:
                        errors.append(f"{what}: {status} shows {leaked}")
                    if path.startswith("/api/v1/items/{id}") and not _sees(caller, team_now, watchers_now) \
                            and status not in (403, 404):
                        errors.append(f"{what}: {status} on an item the caller may not see")
                    team_param = any(p["in"] == "path" and p["schema"].get("$ref", "").endswith("/TeamName")
                                     for p in op.get("parameters", []))
                    if team_param and caller.role != "admin" and target.team not in caller.teams \
                            and status not in (403, 404):
                        errors.append(f"{what}: {status} on a queue of another team")
                    if op.get("x-roles") and caller.role not in op["x-roles"] and status not in (403, 404):
                        errors.append(f"{what}: {status} for a role outside {op['x-roles']}")
    assert errors == [], "\n".join(errors[:50])


async def test_anonymous_callers_get_401_everywhere_but_public_operations(server: LiveServer,
                                                                           doc: dict[str, Any]) -> None:
    """Without credentials every non-public operation answers 401 problem+json and shows no item."""
    targets = _fresh_items(server, watched_by="marketing")
    errors: list[str] = []
    async with aiohttp.ClientSession() as s:
        for method, path, op in _operations(doc):
            if op.get("security") == []:
                continue
            for target in targets.values():
                url, query, body = _request(doc, path, op, target)
                async with s.request(method, server.url + url, params=query, json=body) as r:
                    text = await r.text()
                    _check(errors, f"anonymous {method} {url}", r.status, r.headers, text)
                    if r.status != 401:
                        errors.append(f"anonymous {method} {url}: {r.status}")
                    if SECRET in text:
                        errors.append(f"anonymous {method} {url}: shows an item")
    assert errors == [], "\n".join(errors[:50])
