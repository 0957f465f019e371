"""Live updates: the Broker fans item changes out to SSE clients filtered by what each user may
see, drops duplicates, catches writes it was not told about (event-log re-check), and on
PostgreSQL hears other instances through LISTEN/NOTIFY."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from connectors.base import Mention
from inbox.domain.types import UserInfo
from inbox.ingest.classifier import ClassifierHolder
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts
from inbox.web.live import Broker, notify_pg
from inbox.web.testing import LiveServer, api_token, sample_mentions, seed_users, web_login

CARE = UserInfo(id=1, name="c", role="agent", teams=("customer_care",))
HR = UserInfo(id=2, name="h", role="agent", teams=("hr",))
ADMIN = UserInfo(id=3, name="a", role="admin", teams=())


def _care(tag: str) -> Mention:
    return Mention(
        source="live", platform="t", external_id=f"c-{tag}", text=f"order broken refund {tag}", language="en"
    )


def _hr(tag: str) -> Mention:
    return Mention(source="live", platform="t", external_id=f"h-{tag}", text=f"job interview {tag}", language="en")


async def _next(sub: Any, timeout: float = 5) -> dict[str, Any]:
    msg = await asyncio.wait_for(sub.queue.get(), timeout)
    assert msg is not None and msg.startswith("event: items\n")
    return json.loads(msg.split("data: ", 1)[1])  # type: ignore[no-any-return]


async def test_fanout_is_filtered_per_user(services: Any) -> None:
    """A customer-care agent hears about customer-care items only; HR only about HR; an admin about both."""
    broker = Broker(services, window=0.01, recheck_every=3600)
    services.listeners.append(broker.publish)
    await broker.start()
    try:
        care, hr, admin = broker.subscribe(CARE), broker.subscribe(HR), broker.subscribe(ADMIN)
        await services.pipeline.ingest([_care("1"), _hr("1")])
        got_care, got_hr, got_admin = await _next(care), await _next(hr), await _next(admin)
        assert {i["team"] for i in got_care["items"]} == {"customer_care"}
        assert {i["team"] for i in got_hr["items"]} == {"hr"}
        assert {i["team"] for i in got_admin["items"]} == {"customer_care", "hr"}
        assert all(set(i) == {"id", "team", "status", "assignee", "v"} for i in got_admin["items"])  # never text
        assert care.queue.empty() and hr.queue.empty()
    finally:
        await broker.shutdown()


async def test_the_after_dispatch_hooks_run_once_per_gap_for_many_dispatches(services: Any) -> None:
    """With changes coming faster than the gap the hooks (the notifications' read) run at once for
    the first dispatch and then once per gap for all the dispatches meanwhile, not once each."""
    broker = Broker(services, window=0.005, recheck_every=3600, after_gap=1.0)
    loop = asyncio.get_running_loop()
    runs: list[float] = []
    ran = asyncio.Event()

    async def hook() -> None:
        runs.append(loop.time())
        ran.set()
    broker.after_dispatch.append(hook)
    await broker.start()
    try:
        broker.publish([1])
        await asyncio.wait_for(ran.wait(), 5)
        ran.clear()
        for i in range(2, 7):  # five more dispatches
            broker.publish([i])
            await asyncio.sleep(0.02)
        await asyncio.wait_for(ran.wait(), 5)
        assert len(runs) == 2 and runs[1] - runs[0] >= 1.0  # (a third run could come a gap later)
    finally:
        await broker.shutdown()


async def test_duplicates_are_dropped_and_new_versions_pass(services: Any) -> None:
    """The same change published twice reaches a client once; a later change of the item reaches it again."""
    from inbox.work.item_actions import WorkService
    broker = Broker(services, window=0.01, recheck_every=3600)
    await broker.start()
    try:
        sub = broker.subscribe(ADMIN)
        res = await services.pipeline.ingest([_care("dup")])
        broker.publish(res.item_ids)
        broker.publish(res.item_ids)
        await _next(sub)
        await asyncio.sleep(0.1)
        broker.publish(res.item_ids)
        await asyncio.sleep(0.1)
        assert sub.queue.empty()
        async with services.engine.begin() as conn:
            ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=services.clock.now())
        work = WorkService(services.engine, services.settings, services.clock, publish=broker.publish)
        await work.claim_next(ann, "customer_care")
        got = await _next(sub)
        assert got["items"][0]["status"] == "claimed" and got["items"][0]["assignee"] == "ann"
    finally:
        await broker.shutdown()


async def test_recheck_catches_writes_from_elsewhere(services: Any) -> None:
    """A write this process was not told about (another process, a lost notification) reaches clients through the
    event-log re-check."""
    broker = Broker(services, window=0.01, recheck_every=0.2)
    await broker.start()  # not in services.listeners: it must find the change by itself
    try:
        sub = broker.subscribe(CARE)
        await services.pipeline.ingest([_care("quiet")])
        got = await _next(sub, timeout=5)
        assert got["items"][0]["team"] == "customer_care"
    finally:
        await broker.shutdown()


@pytest.mark.postgres
async def test_listen_notify_across_instances(pg_db_url: str, settings_factory: Any, clock: Any,
                                              fake_classifier: Any) -> None:
    """On PostgreSQL an instance hears another instance's committed batch through NOTIFY (re-check off), and
    nothing of a rolled-back one."""
    settings = settings_factory(pg_db_url)
    a = await Services.open(settings, clock=clock)
    b = await Services.open(settings, clock=clock)
    try:
        await migrate.upgrade(a.engine)
        async with a.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=clock.now())
        b.classifier = ClassifierHolder(fake_classifier)
        await b.ready_pipeline()
        await a.start_background()
        broker = Broker(a, window=0.01, recheck_every=3600)
        await broker.start()
        assert a.listener is not None
        await broker.attach(a.listener)
        try:
            await asyncio.wait_for(a.listener.connected.wait(), 10)
            await asyncio.sleep(0.2)  # let the re-check that follows a connection run before the batch
            sub = broker.subscribe(CARE)
            res = await b.pipeline.ingest([_care("pg")])
            assert sub.queue.empty()
            async with b.engine.begin() as conn:  # what the pipeline does inside its transaction
                await notify_pg(conn, res.item_ids)
            got = await _next(sub)
            assert [i["id"] for i in got["items"]] == res.item_ids
            with pytest.raises(RuntimeError):
                async with b.engine.begin() as conn:
                    await notify_pg(conn, [999999])
                    raise RuntimeError("rolled back")
            await asyncio.sleep(0.3)
            assert sub.queue.empty()
            quiet = await b.pipeline.ingest([_care("pg-quiet")])  # committed without a notification
            async with b.engine.begin() as conn:  # too many ids for one payload: "re-check the event log"
                await notify_pg(conn, list(range(1, 3000)))
            got = await _next(sub)
            assert [i["id"] for i in got["items"]] == quiet.item_ids
        finally:
            await broker.shutdown()
    finally:
        await a.close()
        await b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("live")

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc)
        await svc.pipeline.ingest(sample_mentions(with_xss=False))
        return {n: await api_token(svc, u.id) for n, u in users.items()}

    with live_server("sqlite", tmp, seed) as srv:
        yield srv


async def _read_events(resp: aiohttp.ClientResponse, until: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        try:
            line = await asyncio.wait_for(resp.content.readline(), max(0.05, until - loop.time()))
        except TimeoutError:
            break
        if line.startswith(b"data: "):
            out.append(json.loads(line[6:]))
    return out


async def test_sse_stream_end_to_end(server: LiveServer) -> None:
    """GET /live streams a claim by another agent to a customer-care agent; an HR agent's stream stays silent about
    it."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as carla, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as henry, \
            aiohttp.ClientSession() as api:
        await web_login(carla, server.url, "carla")
        await web_login(henry, server.url, "henry")
        async with carla.get(server.url + "/live") as rc, henry.get(server.url + "/live") as rh:
            assert rc.status == 200 and rc.headers["Content-Type"] == "text/event-stream"
            # the stream sends its headers from inside the handler: the security headers are there all the same
            assert rc.headers["X-Content-Type-Options"] == "nosniff" and rc.headers["X-Frame-Options"] == "DENY"
            assert "frame-ancestors 'none'" in rc.headers["Content-Security-Policy"]
            await rc.content.readline()
            await rh.content.readline()
            async with api.post(server.url + "/api/v1/queues/customer_care/claim",
                                headers={"Authorization": f"Bearer {server.seeded['dario']}"}) as r:
                claimed = (await r.json())["item"]
            until = asyncio.get_running_loop().time() + 2
            seen_c, seen_h = await asyncio.gather(_read_events(rc, until), _read_events(rh, until))
    ids_c = {i["id"]: i for e in seen_c for i in e["items"]}
    assert ids_c[claimed["id"]]["status"] == "claimed" and ids_c[claimed["id"]]["assignee"] == "dario"
    assert all(i["team"] == "hr" for e in seen_h for i in e["items"])
    assert claimed["id"] not in {i["id"] for e in seen_h for i in e["items"]}


async def test_sse_needs_a_session(server: LiveServer) -> None:
    """Anonymous clients cannot open the stream."""
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + "/live", allow_redirects=False) as r:
            assert r.status == 401
