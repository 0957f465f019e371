"""Thread context end to end on SQLite and PostgreSQL: mentions whose parent (and thread start) no
poll stored get them from the platforms (tests/context_platform.py, real HTTP) through the
thread-context job; the item page shows them above the mention, escaped, and GET /api/v1/items/{id}
carries them as ``parent`` / ``root``; a deleted parent is remembered, not asked for again; a
platform that refuses is retried by a later run; retention drops the context of stripped items."""
from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from connectors.base import Mention
from connectors.context import ContextPost
from inbox.ingest.thread_context import fetch_thread_context
from inbox.ops.jobs import EXCLUSIVE, periodic_jobs
from inbox.storage.repo import accounts, context_posts
from inbox.storage.repo._common import T_CONTEXT, T_MENTION
from inbox.web.testing import SeedUser, api_token, seed_users, web_login
from inbox.work.item_actions import WorkService
from inbox.work.retention import run_retention
from tests.context_platform import ContextPlatforms, context_tables
from tests.replies_platform import free_port

BSKY_ROOT = "at://did:plc:acme000000000000000000000/app.bsky.feed.post/3kctxroot001"
BSKY_PARENT = "at://did:plc:paola00000000000000000000/app.bsky.feed.post/3kctxpar0001"


def _m(source: str, ext: str, parent: str | None, root: str | None = None, author: str = "cliente") -> Mention:
    return Mention(source=source, platform=source, external_id=ext, author_handle=author,
                   text=f"my order from acme arrived broken ({source} {ext[-6:]})", reply_to_id=parent, thread_id=root)


MENTIONS = [
    _m("mastodon", "https://m.example/users/c/statuses/1", "110000000000000001"),
    _m("mastodon", "https://m.example/users/c/statuses/2", "110000000000000404"),  # deleted parent
    _m("bluesky", "at://did:plc:c/app.bsky.feed.post/3kreply", BSKY_PARENT, BSKY_ROOT),
    _m("bluesky", "at://did:plc:c/app.bsky.feed.post/3kpolled", "at://did:plc:c/app.bsky.feed.post/3kreply",
       BSKY_ROOT),  # its parent was polled as a mention: not fetched
    _m("reddit", "t1_kreply", "t1_kpar01", "t3_1hroot"),
    _m("x", "1863000000000000200", "1863000000000000100", "1863000000000000001"),
    _m("youtube", "UgzCtxReply00000AaABAg.9x", "UgzCtxParent0001AaABAg", "UgzCtxParent0001AaABAg"),
    _m("hackernews", "41000010", "41000002", "41000001"),
    _m("import", "imp-1", "somewhere-else"),  # no connector can fetch it
]


@pytest.fixture(params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.conftest import live_server, pg_or_skip
    if request.param == "postgres":
        pg_or_skip()
    port = free_port()
    fake = ContextPlatforms()

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, (SeedUser("root", "admin", ()),))
        runner = web.AppRunner(fake.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await svc.pipeline.ingest(MENTIONS)
        async with svc.engine.connect() as conn:
            ids = {ext: i for i, ext in await conn.execute(select(T_MENTION.c.id, T_MENTION.c.external_id))}
        return {"token": await api_token(svc, users["root"].id), "ids": ids}

    with live_server(request.param, tmp_path_factory.mktemp("context"), seed,
                     connectors=context_tables(f"http://127.0.0.1:{port}")) as srv:
        yield {"srv": srv, "fake": fake, **srv.seeded}


def _api(live: dict[str, Any], path: str) -> Any:
    req = urllib.request.Request(live["srv"].url + path, headers={"Authorization": f"Bearer {live['token']}"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.loads(r.read())


async def _page(base: str, path: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await web_login(s, base, "root")
        async with s.get(base + path) as r:
            assert r.status == 200
            return await r.text()


def test_parents_are_fetched_stored_and_shown(live: dict[str, Any]) -> None:
    srv, fake, ids = live["srv"], live["fake"], live["ids"]
    fake.refuse["x"] = 401  # X refuses this run: the others go on, X is asked again next run
    first = srv.call(fetch_thread_context, srv.svc)
    assert first["x"]["failed"] == 1 and first["x"]["stored"] == 0
    assert first["mastodon"] == {"stored": 1, "gone": 1, "failed": 0}
    assert first["bluesky"]["stored"] == 2 and first["reddit"]["stored"] == 2
    assert first["youtube"]["stored"] == 1 and first["hackernews"]["stored"] == 2
    assert "import" not in first
    assert not any("3kreply" in r for r in fake.requests if r.startswith("/bluesky"))  # polled: never asked
    del fake.refuse["x"]
    asked = len(fake.requests)
    second = srv.call(fetch_thread_context, srv.svc)
    assert second == {"x": {"stored": 2, "gone": 0, "failed": 0}}  # the deleted status is not asked again
    assert all(r.startswith("/x/") for r in fake.requests[asked:])
    assert srv.call(fetch_thread_context, srv.svc) == {}

    it = _api(live, f"/api/v1/items/{ids['t1_kreply']}")
    assert it["parent"]["text"] == "Mine leaks after a week." and it["parent"]["author"] == "leaky_l"
    assert it["parent"]["external_id"] == "t1_kpar01" and it["parent"]["id"] is None
    assert it["root"]["text"] == "Acme kettle: worth it?\nThinking of buying one."
    it = _api(live, f"/api/v1/items/{ids['1863000000000000200']}")
    assert it["parent"]["author"] == "tom_r" and it["root"]["text"].startswith("Acme kettles now ship")
    it = _api(live, f"/api/v1/items/{ids['UgzCtxReply00000AaABAg.9x']}")
    assert it["parent"]["text"] == "Which model is this? It's great" and it["root"] is None  # root is the parent
    it = _api(live, f"/api/v1/items/{ids['https://m.example/users/c/statuses/2']}")
    assert it["parent"] == {"id": None, "external_id": "110000000000000404", "text": None, "author": None,
                            "url": None, "created_at": None}
    it = _api(live, f"/api/v1/items/{ids['at://did:plc:c/app.bsky.feed.post/3kpolled']}")
    assert it["parent"]["id"] == ids["at://did:plc:c/app.bsky.feed.post/3kreply"]  # the polled mention wins

    html = srv.call(_page, srv.url, f"/items/{ids['at://did:plc:c/app.bsky.feed.post/3kreply']}")
    section = html.split('class="card thread-context"', 1)[1].split("</section>", 1)[0]
    assert "Winter sale starts Monday" in section and "paola.bsky.social" in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section and "<script>alert(1)" not in html
    assert section.index("Winter sale") < section.index("paola.bsky.social")  # thread start, then the parent
    assert "not stored here" not in section
    html = srv.call(_page, srv.url, f"/items/{ids['https://m.example/users/c/statuses/2']}")
    assert "The parent post was deleted on the platform." in html
    html = srv.call(_page, srv.url, f"/items/{ids['imp-1']}")
    assert "The parent post is not stored here." in html


def test_the_job_runs_in_serve_one_instance_at_a_time(services: Any) -> None:
    work = WorkService(services.engine, services.settings, services.clock)
    assert "thread_context" in {name for name, _, _ in periodic_jobs(services, work)}
    assert "thread_context" in EXCLUSIVE


async def test_retention_drops_the_context_of_stripped_items(services: Any) -> None:
    svc = services
    teams = [t.model_copy(update={"retention": timedelta(days=30)}) for t in svc.settings.teams]
    svc.apply_settings(svc.settings.model_copy(update={"teams": teams}))
    await svc.pipeline.ingest([_m("reddit", "t1_a", "t1_only_a", "t3_shared"),
                               _m("reddit", "t1_b", "t1_only_b", "t3_shared")])
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        await context_posts.store("reddit", "reddit", [ContextPost(key=k, text=f"post {k}", author_handle="op")
                                                       for k in ("t1_only_a", "t1_only_b", "t3_shared")],
                                  [], conn=conn, now=now)
        a = (await conn.execute(select(T_MENTION.c.id).where(T_MENTION.c.external_id == "t1_a"))).scalar_one()
        adm = await accounts.add_user("adm", "admin", [], None, conn=conn, now=now)
    await WorkService(svc.engine, svc.settings, svc.clock).set_status(adm, a, "resolved")
    svc.clock.advance(timedelta(days=31))
    await run_retention(svc)
    async with svc.engine.connect() as conn:
        left = sorted(r[0] for r in await conn.execute(select(T_CONTEXT.c.external_id)))
    assert left == ["t1_only_b", "t3_shared"]  # the shared thread start is still answered by t1_b


async def test_older_mentions_are_reached_when_the_newest_parents_are_stored(services: Any) -> None:
    """A page of newest mentions whose parents are all stored does not hide older ones."""
    svc = services
    await svc.pipeline.ingest([_m("reddit", f"t1_c{i}", f"t1_p{i}") for i in range(5)])
    async with svc.engine.begin() as conn:
        await context_posts.store("reddit", "reddit", [ContextPost(key=f"t1_p{i}", text="x") for i in (3, 4)],
                                  ["t1_p2"], conn=conn, now=svc.clock.now())
        got = await context_posts.wanted(conn=conn, since=svc.clock.now() - timedelta(days=1), limit=2)
    assert got == {"reddit": [("reddit", "t1_p1"), ("reddit", "t1_p0")]}


async def test_a_source_that_keeps_refusing_is_asked_less_often(services: Any, clock: Any) -> None:
    """A platform that refuses every lookup is asked on the next run after its first refusal, then
    after twice the job's interval, four times... (the polls' back-off); once it answers, the next
    failure starts from the beginning again. The job runs every 5 minutes here on the fake clock."""
    from connectors.config import ConnectorSettings
    from inbox.ingest.thread_context import INTERVAL
    fake = ContextPlatforms()
    fake.refuse["x"] = 401
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        tables = context_tables(f"http://127.0.0.1:{port}", ("x",))
        services.settings = services.settings.model_copy(
            update={"connectors": [ConnectorSettings.model_validate(t) for t in tables]})
        await services.pipeline.ingest([m for m in MENTIONS if m.source == "x"])
        asked_at = []
        for minute in range(0, 80, 5):
            before = len(fake.requests)
            await fetch_thread_context(services)
            if len(fake.requests) > before:
                asked_at.append(minute)
            if minute == 70:
                assert services.context_failures["x"][0] == 4
                del fake.refuse["x"]  # the platform answers again from here on
            clock.advance(INTERVAL)
        # refused at 0, 5 (then 10 minutes), 15 (20), 35 (40); answered at 75
        assert asked_at == [0, 5, 15, 35, 75]
        assert "x" not in services.context_failures
    finally:
        await runner.cleanup()
