"""The reply endpoints over HTTP (a live server, bearer tokens): 202 with the reply, 422 problem+json
naming the platform's limit, 409 problem+json for a source without a write API, the reply part of
GET /items/{id} (replies, parent, reply_info, first_response_at) and approval by a lead."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from connectors.base import Mention
from inbox.storage.repo import connector_state
from inbox.storage.repo._common import T_MENTION
from inbox.web.testing import SeedUser, api_token, seed_users
from tests.replies_platform import ENV, FakePlatforms, connector_tables, free_port, parent_mentions


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("replies-api")
    port = free_port()
    fake = FakePlatforms()

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, (SeedUser("carla", "agent", ("customer_care",)),
                                       SeedUser("lea", "lead", ("customer_care",)),
                                       SeedUser("root", "admin", ())))
        runner = web.AppRunner(fake.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        reply = Mention(source="bluesky", platform="bluesky", external_id="at://did:plc:x/app.bsky.feed.post/3kchild",
                        text="@acme still no refund for my order, help", author_handle="marco.bsky.social",
                        reply_to_id=parent_mentions()[1].external_id,
                        raw={"cid": "bafychild", "uri": "at://did:plc:x/app.bsky.feed.post/3kchild"})
        older = Mention(source="bluesky", platform="bluesky", external_id="at://did:plc:x/app.bsky.feed.post/3kolder",
                        text="@acme my order 7781 is late", author_handle="marco.bsky.social",
                        created_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))  # stored last, posted first
        await svc.pipeline.ingest([*parent_mentions(), reply, older, Mention(
            source="import", platform="import", external_id="imp", text="order lost, help", url="https://example.org/1")])
        async with svc.engine.begin() as conn:
            ids = {ext: i for i, ext in await conn.execute(select(T_MENTION.c.id, T_MENTION.c.external_id))}
            for name in ("youtube", "bluesky"):  # as a first poll leaves them
                await connector_state.ensure(name, name, conn=conn, now=svc.clock.now())
        return {"tokens": {n: await api_token(svc, u.id) for n, u in users.items()}, "ids": ids}

    with pytest.MonkeyPatch.context() as mp:
        for k, v in ENV.items():
            mp.setenv(k, v)
        mp.delenv("T_YOUTUBE")

        def approval_for_care(settings: Any) -> Any:
            settings.teams = [t.model_copy(update={"reply_approval": True}) if t.name == "customer_care" else t
                              for t in settings.teams]
            return settings

        with live_server("sqlite", tmp, seed, adjust=approval_for_care,
                         connectors=connector_tables(f"http://127.0.0.1:{port}")) as srv:
            yield {"srv": srv, "fake": fake, **srv.seeded}


def _call(live: dict[str, Any], method: str, path: str, user: str, body: Any = None) -> tuple[int, str, Any]:
    req = urllib.request.Request(live["srv"].url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {live['tokens'][user]}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.headers.get("Content-Type", ""), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), json.loads(e.read() or b"null")


def _id(live: dict[str, Any], suffix: str) -> int:
    return next(i for ext, i in live["ids"].items() if ext.endswith(suffix))


def test_reply_api_contract(live: dict[str, Any]) -> None:
    x, child, imp, yt = _id(live, "1863000000000000042"), _id(live, "3kchild"), _id(live, "imp"), \
        _id(live, "UgzParentComment0001AaABAg")
    parent, older = _id(live, "3kparent0001"), _id(live, "3kolder")
    for iid in (x, child, imp, yt, parent, older):
        st, _, _ = _call(live, "POST", f"/api/v1/items/{iid}/transfer", "root",
                         {"team": "customer_care", "reason": "a customer asking"})
        assert st in (200, 409)
    st, ct, js = _call(live, "POST", f"/api/v1/items/{x}/replies", "carla", {"text": "a" * 281})
    assert st == 422 and "problem+json" in ct and "at most 280" in js["detail"]
    st, ct, js = _call(live, "POST", f"/api/v1/items/{x}/replies", "carla", {"text": ""})
    assert st == 422 and "problem+json" in ct
    st, ct, js = _call(live, "POST", f"/api/v1/items/{imp}/replies", "carla", {"text": "hello"})
    assert st == 409 and "problem+json" in ct and "no write API" in js["detail"]
    st, ct, js = _call(live, "POST", f"/api/v1/items/{yt}/replies", "carla", {"text": "hello"})
    assert st == 409 and "T_YOUTUBE is not set" in js["detail"]
    st, _, js = _call(live, "POST", f"/api/v1/items/{child}/replies", "carla", {"text": "Rimborso partito oggi ✅"})
    assert st == 202 and js["status"] == "pending_approval"
    rid = js["id"]
    st, _, _ = _call(live, "POST", f"/api/v1/replies/{rid}/approve", "carla", {})
    assert st == 403
    st, _, js = _call(live, "POST", f"/api/v1/replies/{rid}/approve", "lea", {"note": "ok"})
    assert st == 200 and js["status"] == "queued"
    live["srv"].call(live["srv"].svc.ready_reply_sender().run_once)
    st, _, it = _call(live, "GET", f"/api/v1/items/{child}", "carla")
    assert st == 200
    assert [(r["status"], r["text"]) for r in it["replies"]] == [("sent", "Rimborso partito oggi ✅")]
    assert it["replies"][0]["external_id"].startswith("at://") and it["first_response_at"]
    assert it["parent"]["external_id"].endswith("3kparent0001") and "refund" in it["parent"]["text"]
    assert it["reply_info"] == {"available": True, "reason": None, "platform": "bluesky", "limit": 300,
                                "unit": "graphemes", "approval": True}
    assert "reply_sent" in [h["kind"] for h in it["history"]]
    # the same author's posts before this one, newest first, by when they were posted (not stored)
    assert [m["id"] for m in it["earlier_mentions"]] == [parent, older]
    st, _, it = _call(live, "GET", f"/api/v1/items/{parent}", "carla")
    assert st == 200 and [m["id"] for m in it["earlier_mentions"]] == [older]
    st, _, it = _call(live, "GET", f"/api/v1/items/{yt}", "carla")
    assert it["reply_info"]["available"] is False and "T_YOUTUBE" in it["reply_info"]["reason"]
    # the connector's health says so, and so does the admin's connectors page
    st, _, health = _call(live, "GET", "/api/v1/health", "root")
    replies = {c["name"]: c["replies"] for c in health["connectors"] if c["polled"]}
    assert replies == {"bluesky": "ready", "youtube": "the credential variable T_YOUTUBE is not set"}
    # the configured sources no poll has reached yet are listed too, saying so
    waiting = {c["name"]: (c["replies"], c["reason"]) for c in health["connectors"] if not c["polled"]}
    assert waiting == {n: ("ready", "not polled yet") for n in ("mastodon", "reddit", "x")}
    req = urllib.request.Request(live["srv"].url + "/admin/connectors",
                                 headers={"Authorization": f"Bearer {live['tokens']['root']}", "Accept": "text/html"})
    with urllib.request.urlopen(req, timeout=20) as r:
        page = r.read().decode()
    assert "the credential variable T_YOUTUBE is not set" in page and ">ready<" in page
