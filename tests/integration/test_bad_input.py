"""A corpus of hostile requests against a live server, on SQLite and PostgreSQL: each answers a
4xx problem+json (a 4xx page or a dead letter for the web forms and the webhook), never a 500,
and nothing is stored from it. Deep nesting, invalid Unicode (lone surrogates, invalid UTF-8,
NUL), oversized bodies, numbers out of range, ids that only Python's int() would take,
unknown teams, repeated parameters and malformed multipart bodies."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from connectors.webhook import sign
from inbox.storage.repo import items as items_repo
from inbox.storage.tables import DeadLetter
from inbox.web.testing import LiveServer, api_token, sample_mentions, seed_users, web_login

SECRET_ENV = "BAD_INPUT_HOOK_SECRET"
SECRET = "bad-input-webhook-secret"
DEEP = 20_000


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("badinput")
    old = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = SECRET

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc)
        res = await svc.pipeline.ingest(sample_mentions(n_care=4, n_hr=1, n_marketing=1, n_pr=1, with_xss=False))
        tokens = {n: await api_token(svc, u.id) for n, u in users.items()}
        async with svc.engine.connect() as conn:
            care = [i for i in res.item_ids if (await items_repo.get_item(i, conn=conn)).team == "customer_care"]
        return {"tokens": tokens, "item": min(care)}

    try:
        with live_server(request.param, tmp, seed,
                         connectors=[{"name": "forms", "type": "webhook", "secret_env": SECRET_ENV}]) as srv:
            yield srv
    finally:
        if old is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = old


def _item(server: LiveServer) -> int:
    return int(server.seeded["item"])


def _bearer(server: LiveServer, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.seeded['tokens'][user]}"}


async def _problem(r: aiohttp.ClientResponse, *statuses: int) -> dict[str, Any]:
    text = await r.text()
    assert r.status in statuses, (r.status, text[:500])
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers["Content-Type"]
    body = json.loads(text)
    assert body["status"] == r.status and body["title"]
    return body  # type: ignore[no-any-return]


def _nested(depth: int) -> bytes:
    return b'{"text": ' + b"[" * depth + b"]" * depth + b"}"


# (name, method, path ("{id}" is an item carla may act on), raw body or None, statuses allowed)
API_CASES: list[tuple[str, str, str, bytes | None, tuple[int, ...]]] = [
    ("deep-json", "POST", "/items/{id}/notes", _nested(DEEP), (422,)),
    ("deep-json-small", "POST", "/items/{id}/notes", _nested(40), (422,)),
    ("lone-surrogate-escape", "POST", "/items/{id}/notes", b'{"text": "a \\ud800 b"}', (422,)),
    ("lone-surrogate-raw", "POST", "/items/{id}/notes", b'{"text": "a \xed\xa0\x80 b"}', (422,)),
    ("invalid-utf8", "POST", "/items/{id}/notes", b'{"text": "caf\xe9"}', (422,)),
    ("nul-in-text", "POST", "/items/{id}/notes", b'{"text": "a\\u0000b"}', (422,)),
    ("blank-text", "POST", "/items/{id}/notes", b'{"text": " \\t\\u3000 "}', (422,)),
    ("nan", "POST", "/items/{id}/notes", b'{"text": NaN}', (422,)),
    ("huge-number", "POST", "/items/{id}/notes", b'{"text": 1' + b"0" * 5000 + b"}", (422,)),
    ("not-an-object", "POST", "/items/{id}/notes", b'["text"]', (422,)),
    ("unknown-field", "POST", "/items/{id}/notes", b'{"text": "ok", "admin": true}', (422,)),
    ("text-too-long", "POST", "/items/{id}/notes", json.dumps({"text": "x" * 5001}).encode(), (422,)),
    ("body-too-large", "POST", "/items/{id}/notes", json.dumps({"text": "x" * 70_000}).encode(), (413,)),
    ("transfer-unknown-team", "POST", "/items/{id}/transfer", b'{"team": "nope", "reason": "x"}', (422,)),
    ("transfer-team-as-number", "POST", "/items/{id}/transfer", b'{"team": 7, "reason": "x"}', (422,)),
    ("status-bogus", "POST", "/items/{id}/status", b'{"status": "exploded"}', (422,)),
    ("resolve-with-junk", "POST", "/items/{id}/resolve", b'{"force": 1}', (422,)),
    ("id-arabic-digits", "GET", "/items/\u0663", None, (404,)),
    ("id-fullwidth-digits", "GET", "/items/\uff11", None, (404,)),
    ("id-leading-space", "GET", "/items/%201", None, (404,)),
    ("id-plus-sign", "GET", "/items/+1", None, (404,)),
    ("id-underscore", "GET", "/items/1_0", None, (404,)),
    ("id-zero", "GET", "/items/0", None, (404,)),
    ("id-huge", "GET", "/items/99999999999999999999999", None, (404,)),
    ("id-negative", "POST", "/items/-1/notes", b'{"text": "x"}', (404,)),
    ("limit-arabic-digits", "GET", "/queues/customer_care/items?limit=\u0665", None, (422,)),
    ("limit-huge", "GET", "/queues/customer_care/items?limit=99999999999999999999999", None, (422,)),
    ("limit-repeated", "GET", "/queues/customer_care/items?limit=1&limit=2", None, (422,)),
    ("offset-negative", "GET", "/queues/customer_care/items?offset=-5", None, (422,)),
    ("status-list-bogus", "GET", "/queues/customer_care/items?status=new,%ED%A0%80", None, (422,)),
    ("team-path-surrogate", "GET", "/queues/%ED%A0%80/items", None, (404,)),
    ("team-path-unknown", "POST", "/queues/nope/claim", None, (404,)),
]

MANAGER_CASES: list[tuple[str, str, tuple[int, ...]]] = [
    ("since-overflow", "/metrics?since=99999999999d", (422,)),
    ("since-too-long", "/metrics?since=4000d", (422,)),
    ("since-huge-float", "/metrics?since=1e308d", (422,)),
    ("since-words", "/metrics?since=forever", (422,)),
    ("team-unknown", "/metrics?team=nope", (422,)),
    ("team-surrogate", "/metrics?team=%ED%A0%80", (422,)),
]


@pytest.mark.parametrize(("name", "method", "path", "body", "statuses"), API_CASES, ids=[c[0] for c in API_CASES])
async def test_hostile_api_requests_are_4xx_problems(server: LiveServer, name: str, method: str, path: str,
                                                      body: bytes | None, statuses: tuple[int, ...]) -> None:
    """Each hostile API request answers its 4xx as problem+json (never a 500), and no note is stored from it."""
    url = server.url + "/api/v1" + path.replace("{id}", str(_item(server)))
    headers = {**_bearer(server, "carla"), "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as s:
        async def notes() -> int:
            async with s.get(f"{server.url}/api/v1/items/{_item(server)}", headers=headers) as r:
                assert r.status == 200
                return len((await r.json())["notes"])
        before = await notes()
        async with s.request(method, url, data=body, headers=headers) as r:
            await _problem(r, *statuses)
        assert await notes() == before


@pytest.mark.parametrize(("name", "path", "statuses"), MANAGER_CASES, ids=[c[0] for c in MANAGER_CASES])
async def test_hostile_metrics_queries_are_4xx_problems(server: LiveServer, name: str, path: str,
                                                        statuses: tuple[int, ...]) -> None:
    """Out-of-range and unknown metrics parameters answer 422 problem+json, as the dashboard does."""
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + "/api/v1" + path, headers=_bearer(server, "mara")) as r:
            body = await _problem(r, *statuses)
    assert body.get("errors") or body.get("detail")


async def test_dashboard_and_api_agree_on_an_unknown_team(server: LiveServer) -> None:
    """metrics?team=nope is a 422 on both the API and the manager's dashboard."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await web_login(s, server.url, "mara")
        async with s.get(server.url + "/dashboard?team=nope") as r:
            page = r.status
        async with s.get(server.url + "/api/v1/metrics?team=nope") as r:
            api = r.status
    assert page == api == 422


def _signed(body: bytes, server: LiveServer) -> dict[str, str]:
    ts = int(server.svc.clock.now().timestamp())
    return {"X-Inbox-Signature": sign(SECRET.encode(), body, ts), "X-Inbox-Timestamp": str(ts),
            "Content-Type": "application/json"}


@pytest.mark.parametrize("kind", ["deep-list", "deep-object", "lone-surrogate", "invalid-utf8"])
async def test_signed_webhook_with_hostile_json_is_a_dead_letter(server: LiveServer, kind: str) -> None:
    """A signed delivery that is too deep or not valid Unicode is kept as a dead letter (202), not a 500."""
    body = {"deep-list": b"[" * DEEP + b"]" * DEEP,
            "deep-object": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
            "lone-surrogate": b'{"id": "ls-%s", "text": "x \\udc00 y"}' % kind.encode(),
            "invalid-utf8": b'{"id": "iu", "text": "\xff\xfe"}'}[kind]

    async def dead_letters() -> int:
        async with server.svc.engine.connect() as conn:
            return len((await conn.execute(select(DeadLetter.__table__.c.id))).all())
    before = server.call(dead_letters)
    async with aiohttp.ClientSession() as s:
        async with s.post(server.url + "/api/v1/ingest/forms", data=body, headers=_signed(body, server)) as r:
            text = await r.text()
            assert r.status in (202, 422), (r.status, text[:300])
            if r.status == 202:
                assert json.loads(text)["rejected"] + json.loads(text)["ingested"] >= 1
    if r.status == 202 and json.loads(text)["rejected"]:
        assert server.call(dead_letters) == before + 1


FORM_CASES = {  # name: (content type, body)
    "no-boundary": ("multipart/form-data",
                    b"--x\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--x--\r\n"),
    "wrong-boundary": ("multipart/form-data; boundary=abc", b"--zzz\r\ngarbage\r\n"),
    "truncated": ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi"),
    "unknown-charset": ("application/x-www-form-urlencoded; charset=x-nope", b"text=hi"),
}


@pytest.mark.parametrize("case", list(FORM_CASES))
async def test_malformed_form_bodies_on_web_forms_are_4xx(server: LiveServer, case: str) -> None:
    """A malformed multipart or urlencoded body on a signed-in web form answers 4xx, never a 500."""
    ctype, body = FORM_CASES[case]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        token = await web_login(s, server.url, "carla")
        # with the token in a header the handler reads the form; without, the CSRF check reads it
        for csrf in ({"X-CSRF-Token": token}, {}):
            async with s.post(f"{server.url}/items/{_item(server)}/note", data=body, allow_redirects=False,
                              headers={"Content-Type": ctype, "Origin": server.url, **csrf}) as r:
                assert 400 <= r.status < 500, (csrf, r.status, (await r.text())[:300])


@pytest.mark.parametrize("raw", [b"%ff%fe", b"%ED%A0%80", b"a%00b"])
async def test_invalid_utf8_in_a_web_form_is_never_stored_raw(server: LiveServer, raw: bytes) -> None:
    """Invalid UTF-8 or a NUL in a web form's note is refused or replaced, never a 500 or a stored surrogate."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        token = await web_login(s, server.url, "carla")
        async with s.post(f"{server.url}/items/{_item(server)}/note", data=b"text=" + raw + b"&_csrf=" + token.encode(),
                          allow_redirects=False, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                          "Origin": server.url}) as r:
            assert r.status in (303, 400, 422), (r.status, (await r.text())[:300])
        async with s.get(f"{server.url}/api/v1/items/{_item(server)}") as r:
            assert r.status == 200
            for note in (await r.json())["notes"]:
                assert "\x00" not in note["text"]
                note["text"].encode("utf-8")  # no lone surrogate
