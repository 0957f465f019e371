"""Replies through the platforms' write APIs, against a local fake of the five platforms answering in
their documented formats (tests/replies_platform.py), on SQLite and PostgreSQL: the request each
platform gets, retries honouring Retry-After, a 4xx failing with the platform's reason and never
retried, approval, the first-response SLA, and the refusals (empty or over-length text, a source
without a write API, a credential variable that is not set)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from connectors.base import Mention
from inbox.errors import Conflict, Forbidden, Invalid, NotFound
from inbox.storage.repo import accounts, items
from inbox.storage.repo import replies as rrepo
from inbox.storage.repo._common import T_ITEM, T_REPLY
from inbox.work.item_actions import WorkService
from inbox.work.replies import ReplyService
from inbox.work.reply_sender import ReplySender
from tests.replies_platform import ENV, FakePlatforms, connector_tables, parent_mentions

TEXT = "Grazie {p}, ci pensiamo noi — è già in viaggio 🚚"


@pytest.fixture
async def world(db_url: str, settings_factory: Any, clock: Any, fake_classifier: Any) -> AsyncIterator[dict[str, Any]]:
    from inbox.ingest.classifier import ClassifierHolder
    from inbox.ops.services import Services
    from inbox.storage import migrate
    fake = FakePlatforms()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    settings = settings_factory(db_url, connectors=connector_tables(base))
    svc = await Services.open(settings, clock=clock)
    await migrate.upgrade(svc.engine)
    now = clock.now()
    async with svc.engine.begin() as conn:
        await accounts.sync_teams(settings.teams, conn=conn, now=now)
        users = {"agent": await accounts.add_user("carla", "agent", ["customer_care"], None, conn=conn, now=now),
                 "pr_agent": await accounts.add_user("piero", "agent", ["pr"], None, conn=conn, now=now),
                 "pr_lead": await accounts.add_user("lea", "lead", ["pr"], None, conn=conn, now=now)}
    svc.classifier = ClassifierHolder(fake_classifier)
    pipe = await svc.ready_pipeline()
    await pipe.ingest(parent_mentions())
    ids = {}
    async with svc.engine.connect() as conn:
        for r in await conn.execute(select(T_ITEM.c.id, T_ITEM.c.team, items.T_MENTION.c.source)
                                    .join(items.T_MENTION, items.T_MENTION.c.id == T_ITEM.c.id)):
            ids[r.source] = (r.id, r.team)
    work = WorkService(svc.engine, settings, clock)
    for iid, team in ids.values():  # the fake classifier may route some elsewhere
        if team != "customer_care":
            await work.transfer(_admin(), iid, "customer_care", "a customer asking for help")
    sender = ReplySender(svc, env=ENV)
    yield {"svc": svc, "fake": fake, "users": users, "ids": {s: i for s, (i, _) in ids.items()}, "clock": clock,
           "replies": ReplyService(svc.engine, settings, clock, env=ENV), "sender": sender, "work": work}
    await sender.close()
    await svc.close()
    await server.close()


def _admin() -> Any:
    from inbox.domain.types import UserInfo
    return UserInfo(id=0, name="root", role="admin", teams=())


async def _reply_rows(svc: Any) -> dict[int, dict[str, Any]]:
    async with svc.engine.connect() as conn:
        return {r.item_id: dict(r._mapping) for r in await conn.execute(select(T_REPLY))}


async def _send_until_done(w: dict[str, Any], runs: int = 5) -> None:
    for _ in range(runs):
        await w["sender"].run_once()
        rows = await _reply_rows(w["svc"])
        if all(r["status"] in ("sent", "failed") for r in rows.values()):
            return
        w["clock"].advance(timedelta(seconds=2))


async def test_each_platform_gets_its_request_once_after_a_503_with_retry_after(world: dict[str, Any]) -> None:
    w = world
    fake: FakePlatforms = w["fake"]
    for path in ("/mastodon/api/v1/statuses", "/bluesky/xrpc/com.atproto.repo.createRecord", "/reddit/api/comment",
                 "/x/2/tweets", "/youtube/youtube/v3/comments"):
        fake.script[path] = [(503, {"Retry-After": "1"}, {"error": "Service Unavailable"})]
    for source, iid in w["ids"].items():
        row = await w["replies"].compose(w["users"]["agent"], iid, TEXT.format(p=source))
        assert row["status"] == "queued"
    first = await w["sender"].run_once()
    assert first["retried"] == 5 and first["sent"] == 0
    rows = await _reply_rows(w["svc"])
    now = w["clock"].now()
    assert all(r["status"] == "queued" and r["next_attempt_at"] >= now + timedelta(seconds=1) for r in rows.values())
    assert (await w["sender"].run_once())["sent"] == 0  # not before Retry-After
    await _send_until_done(w)
    rows = await _reply_rows(w["svc"])
    for source, iid in w["ids"].items():
        assert rows[iid]["status"] == "sent", (source, rows[iid])
        assert len(fake.delivered(source)) == 1, source
    m, b, r, x, y = (fake.delivered(p)[0] for p in ("mastodon", "bluesky", "reddit", "x", "youtube"))
    assert m["data"] == {"status": TEXT.format(p="mastodon"), "in_reply_to_id": "113000000000000042"}
    keys = {e["headers"].get("Idempotency-Key") for e in fake.writes if e["path"] == "/mastodon/api/v1/statuses"}
    assert len(keys) == 1 and None not in keys  # the same key on every attempt
    rec = b["data"]["record"]
    assert rec["text"] == TEXT.format(p="bluesky")
    assert rec["reply"]["parent"] == {"uri": "at://did:plc:author00000000000000000/app.bsky.feed.post/3kparent0001",
                                      "cid": "bafyreiparentcid000000000000000000000000000000000001"}
    assert rec["reply"]["root"]["uri"].endswith("3kroot00001")
    assert r["data"] == {"api_type": "json", "thing_id": "t1_kx1abcd", "text": TEXT.format(p="reddit")}
    assert x["data"] == {"text": TEXT.format(p="x"), "reply": {"in_reply_to_tweet_id": "1863000000000000042"}}
    assert y["query"] == {"part": "snippet"}
    assert y["data"]["snippet"] == {"parentId": "UgzParentComment0001AaABAg", "textOriginal": TEXT.format(p="youtube")}
    assert all(e["headers"]["Authorization"].startswith("Bearer ") for e in (m, r, x, y))
    assert rows[w["ids"]["x"]]["external_id"] == fake.posts["x"][0]["id"]
    # the first sent reply stops the first-response SLA clock; the history has the reply and its delivery
    async with w["svc"].engine.connect() as conn:
        assert await rrepo.first_response_at(w["ids"]["reddit"], conn=conn) is not None
        kinds = [e["kind"] for e in await items.events_for(w["ids"]["reddit"], conn=conn)]
    assert "reply" in kinds and "reply_sent" in kinds
    assert (await w["sender"].run_once())["sent"] == 0 and len(fake.delivered("reddit")) == 1
    # the metrics count them and the time to first reply; the export has the first response
    from inbox.storage.repo.export_rows import export_rows
    from inbox.work.routing_metrics import compute_metrics
    m = await compute_metrics(w["svc"].engine, w["svc"].settings, w["clock"].now(), timedelta(days=1))
    assert m["replies"]["sent"] == 5 and m["replies"]["time_to_first_reply"]["n"] == 5
    async with w["svc"].engine.connect() as conn:
        rows = [r async for r in export_rows(conn=conn)]
    assert {r["replies_sent"] for r in rows} == {1} and all(r["first_response_at"] for r in rows)


async def test_a_4xx_fails_with_the_platforms_reason_and_is_not_retried(world: dict[str, Any]) -> None:
    w = world
    fake: FakePlatforms = w["fake"]
    fake.script["/x/2/tweets"] = [(403, {}, {"title": "Forbidden", "type": "about:blank", "status": 403,
                                             "detail": "You are not permitted to reply to this conversation."})]
    fake.script["/reddit/api/comment"] = [(200, {}, {"json": {"errors": [["THREAD_LOCKED", "that thread is locked",
                                                                           "parent"]]}})]
    for source in ("x", "reddit"):
        await w["replies"].compose(w["users"]["agent"], w["ids"][source], "thanks")
    counts = await w["sender"].run_once()
    assert counts["failed"] == 2
    rows = await _reply_rows(w["svc"])
    x, r = rows[w["ids"]["x"]], rows[w["ids"]["reddit"]]
    assert x["status"] == "failed" and "not permitted to reply" in x["error"] and x["error_status"] == 403
    assert r["status"] == "failed" and "THREAD_LOCKED" in r["error"]
    w["clock"].advance(timedelta(hours=1))
    await w["sender"].run_once()
    assert len([e for e in fake.writes if e["path"] == "/x/2/tweets"]) == 1  # never retried by itself
    again = await w["replies"].retry(w["users"]["agent"], x["id"])  # the retry button
    assert again["status"] == "queued"
    await w["sender"].run_once()
    assert (await _reply_rows(w["svc"]))[w["ids"]["x"]]["status"] == "sent"


async def test_refusals_name_the_reason(world: dict[str, Any]) -> None:
    w = world
    svc, agent = w["svc"], w["users"]["agent"]
    with pytest.raises(Invalid, match="at most 280"):
        await w["replies"].compose(agent, w["ids"]["x"], "a" * 281)
    with pytest.raises(Invalid, match="needs text"):
        await w["replies"].compose(agent, w["ids"]["mastodon"], "   ")
    ok = await w["replies"].compose(agent, w["ids"]["bluesky"], "👍🏽" * 300)  # 300 graphemes
    assert ok["status"] == "queued"
    await svc.pipeline.ingest([Mention(source="import", platform="import", external_id="i1",
                                       text="my order never came, help", url="https://example.org/p/1")])
    async with svc.engine.connect() as conn:
        iid = (await conn.execute(select(items.T_MENTION.c.id).where(items.T_MENTION.c.source == "import"))).scalar()
    with pytest.raises(Conflict, match="no write API.*https://example.org/p/1"):
        await w["replies"].compose(agent, iid, "hello")
    unset = ReplyService(svc.engine, svc.settings, w["clock"], env={k: v for k, v in ENV.items() if k != "T_REDDIT"})
    with pytest.raises(Conflict, match="T_REDDIT is not set"):
        await unset.compose(agent, w["ids"]["reddit"], "hello")
    with pytest.raises(NotFound):  # not a member of the item's team: it is not even shown
        await w["replies"].compose(w["users"]["pr_agent"], w["ids"]["x"], "hello")


async def test_pr_replies_wait_for_a_leads_approval(world: dict[str, Any]) -> None:
    w = world
    iid = w["ids"]["mastodon"]
    await w["work"].transfer(_admin(), iid, "pr", "a journalist is asking")
    row = await w["replies"].compose(w["users"]["pr_agent"], iid, "We will publish a statement today.")
    assert row["status"] == "pending_approval"
    await w["sender"].run_once()
    assert w["fake"].delivered("mastodon") == []
    with pytest.raises(Forbidden):
        await w["replies"].approve(w["users"]["pr_agent"], row["id"])
    with pytest.raises(Invalid, match="note"):
        await w["replies"].reject(w["users"]["pr_lead"], row["id"], "")
    approved = await w["replies"].approve(w["users"]["pr_lead"], row["id"], "ok to send")
    assert approved["status"] == "queued" and approved["reviewer"] == "lea"
    await w["sender"].run_once()
    assert len(w["fake"].delivered("mastodon")) == 1
    second = await w["replies"].compose(w["users"]["pr_agent"], iid, "Second thoughts")
    rejected = await w["replies"].reject(w["users"]["pr_lead"], second["id"], "not our tone")
    assert rejected["status"] == "rejected" and rejected["review_note"] == "not our tone"
    with pytest.raises(Conflict):
        await w["replies"].approve(w["users"]["pr_lead"], second["id"])


async def test_429_waits_5xx_looks_then_retries_with_backoff_and_bad_credentials_fail(world: dict[str, Any]) -> None:
    """429 is retried at its Retry-After; a plain 5xx (no Retry-After) leaves the reply in doubt and
    is retried after 1 s, then 2 s (exponential back-off), the platform looked at before each resend;
    a 5xx after which the post turns out to exist is recorded as sent without a second post; a 401
    (bad credentials) fails with the platform's reason and is not retried."""
    w = world
    fake: FakePlatforms = w["fake"]
    clock = w["clock"]
    fake.script["/x/2/tweets"] = [(429, {"Retry-After": "120"}, {"title": "Too Many Requests", "status": 429})]
    fake.script["/youtube/youtube/v3/comments"] = [(500, {}, {"error": {"code": 500, "message": "Backend Error"}}),
                                                   (502, {}, {"error": {"code": 502, "message": "Bad Gateway"}})]
    fake.script["/reddit/api/comment"] = [(500, {}, {"message": "Internal Server Error", "error": 500})]
    fake.script["/mastodon/api/v1/statuses"] = [(401, {}, {"error": "The access token is invalid"})]
    for source in ("x", "youtube", "reddit", "mastodon"):
        await w["replies"].compose(w["users"]["agent"], w["ids"][source], f"On it, {source}!")
    start = clock.now()
    await w["sender"].run_once()
    rows = await _reply_rows(w["svc"])
    x, yt, rd, ma = (rows[w["ids"][s]] for s in ("x", "youtube", "reddit", "mastodon"))
    assert x["status"] == "queued" and x["next_attempt_at"] == start + timedelta(seconds=120)
    assert yt["status"] == "sending" and yt["in_doubt"] and yt["next_attempt_at"] == start + timedelta(seconds=1)
    assert ma["status"] == "failed" and ma["error"] == "HTTP 401: The access token is invalid"
    assert ma["error_status"] == 401
    # the platform wrote the Reddit comment before answering 500: the look finds it, nothing goes out again
    fake.posts["reddit"].append({"id": "r900", "name": "t1_r900", "parent_id": "t1_kx1abcd", "body": "On it, reddit!",
                                 "author": "acme", "permalink": "/r/acme/comments/x/_/r900/"})
    clock.advance(timedelta(seconds=1))
    await w["sender"].run_once()
    rows = await _reply_rows(w["svc"])
    yt, rd = rows[w["ids"]["youtube"]], rows[w["ids"]["reddit"]]
    assert rd["status"] == "sent" and rd["external_id"] == "t1_r900" and fake.delivered("reddit") == []
    assert yt["status"] == "sending" and yt["next_attempt_at"] == clock.now() + timedelta(seconds=2)
    clock.advance(timedelta(seconds=1))
    await w["sender"].run_once()
    assert (await _reply_rows(w["svc"]))[w["ids"]["youtube"]]["status"] == "sending"  # 2 s not over yet
    clock.advance(timedelta(seconds=1))
    await w["sender"].run_once()
    assert (await _reply_rows(w["svc"]))[w["ids"]["youtube"]]["status"] == "sent"
    assert len(fake.delivered("youtube")) == 1
    clock.advance(timedelta(seconds=100))
    await w["sender"].run_once()
    assert (await _reply_rows(w["svc"]))[w["ids"]["x"]]["status"] == "queued"  # Retry-After not over yet
    clock.advance(timedelta(seconds=21))
    await w["sender"].run_once()
    rows = await _reply_rows(w["svc"])
    assert rows[w["ids"]["x"]]["status"] == "sent" and len(fake.delivered("x")) == 1
    assert rows[w["ids"]["mastodon"]]["status"] == "failed"
    assert len([e for e in fake.writes if e["path"] == "/mastodon/api/v1/statuses"]) == 1  # never retried


async def test_credentials_are_never_stored_logged_or_put_in_an_error(world: dict[str, Any]) -> None:
    """The write credentials (ENV's values) appear in no stored row of any table and in no log event,
    through sends, a refusal (bad credentials) and a retry."""
    from structlog.testing import capture_logs

    from inbox.storage.tables import metadata
    w = world
    w["fake"].script["/x/2/tweets"] = [(401, {}, {"title": "Unauthorized", "status": 401,
                                                  "detail": "Unauthorized", "type": "about:blank"})]
    w["fake"].script["/youtube/youtube/v3/comments"] = [(503, {"Retry-After": "1"}, {"error": {"message": "busy"}})]
    with capture_logs() as logs:
        for source, iid in w["ids"].items():
            await w["replies"].compose(w["users"]["agent"], iid, f"Thanks, {source}")
        await _send_until_done(w)
    rows = await _reply_rows(w["svc"])
    assert {r["status"] for r in rows.values()} == {"sent", "failed"}  # the run went through its paths
    assert rows[w["ids"]["x"]]["status"] == "failed" and "401" in rows[w["ids"]["x"]]["error"]
    stored = []
    async with w["svc"].engine.connect() as conn:
        for table in metadata.sorted_tables:
            stored += [repr(tuple(r)) for r in await conn.execute(select(table))]
    logged = repr(logs)
    assert "Thanks, bluesky" in " ".join(stored)  # the dump reads what was written
    for secret in ENV.values():
        assert not any(secret in row for row in stored), secret
        assert secret not in logged, secret
