"""Notifications on the live streams (SQLite and PostgreSQL): after a change is published, the
person it is for hears ``notifications`` with their unread count and the text in their language;
a customer-care agent named in a note on an HR item hears nothing, not even a count."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from inbox.web.live import Broker
from inbox.web.notify_live import NoticeFeed
from inbox.work import handover
from tests.integration.test_people_notify import _setup


async def _drain(sub: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    while not sub.queue.empty():
        msg = sub.queue.get_nowait()
        kind, data = msg.split("\n", 1)
        out.append((kind.removeprefix("event: "), json.loads(data.split("data: ", 1)[1])))
    return out


async def _notices(sub: Any, timeout: float = 5) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(sub.queue.get(), timeout)
        assert msg is not None
        if msg.startswith("event: notifications\n"):
            return json.loads(msg.split("data: ", 1)[1])  # type: ignore[no-any-return]


async def test_the_assignee_hears_it_live_in_their_language(services: Any) -> None:
    w, u, care, hr = await _setup(services)
    broker = Broker(services, window=0.01, recheck_every=3600)
    feed = NoticeFeed(broker, services)
    broker.after_dispatch.append(feed.push)
    services.listeners.append(broker.publish)
    await feed.start()
    await broker.start()
    w.publish = broker.publish
    try:
        ann, hri, bob = broker.subscribe(u["ann"]), broker.subscribe(u["hri"], locale="it"), broker.subscribe(u["bob"])
        await handover.assign(w, u["lea"], care[0], "ann")
        got = await _notices(ann)
        assert got["unread"] == 1 and [(n["kind"], n["item_id"]) for n in got["new"]] == [("assigned", care[0])]
        assert got["new"][0]["text"] == f"lea assigned item #{care[0]} to you"
        await w.add_note(u["hrl"], hr, "@ann @hri the candidate called")
        got = await _notices(hri)
        assert got["unread"] == 1 and got["new"][0]["item_id"] == hr
        assert got["new"][0]["text"] == f"hrl ti ha menzionato in una nota sull'elemento #{hr}"
        await w.add_note(u["lea"], care[1], "@bob over to you")
        assert (await _notices(bob))["unread"] == 1
        # ann heard nothing about the HR item: no notifications event after the first one
        assert [k for k, d in await _drain(ann) if k == "notifications"] == []
        assert feed.sent == 3
    finally:
        await broker.shutdown()


async def test_a_notification_written_elsewhere_arrives_through_the_recheck(services: Any) -> None:
    """The SLA-due-soon job of another process (nothing published here) reaches the stream through
    the broker's periodic re-check."""
    from datetime import timedelta

    from inbox.storage.repo import items
    from inbox.work import people_notify
    w, u, care, _ = await _setup(services)
    await handover.assign(w, u["lea"], care[0], "ann")
    broker = Broker(services, window=0.01, recheck_every=0.2)
    feed = NoticeFeed(broker, services)
    broker.after_dispatch.append(feed.push)
    await feed.start()
    await broker.start()
    try:
        ann = broker.subscribe(u["ann"])
        async with services.engine.begin() as conn:
            await items.update_item(care[0], {"first_response_due": services.clock.now() + timedelta(minutes=10)},
                                    conn=conn)
        assert await people_notify.notify_due_soon(services) == 1
        got = await _notices(ann)
        assert got["unread"] == 2 and [n["kind"] for n in got["new"]] == ["sla_due"]
    finally:
        await broker.shutdown()


@asynccontextmanager
async def _two_instances(pg_db_url: str, settings_factory: Any, clock: Any,
                         fake_classifier: Any) -> AsyncIterator[tuple[Any, Broker, Any, dict[str, Any], list[int]]]:
    """Instances b (where people act) and a (whose Broker hears PostgreSQL NOTIFY, re-check off),
    test_handover's people and items: yields (b, a's broker, b's WorkService, users, care items)."""
    from tests.conftest import open_services
    settings = settings_factory(pg_db_url)
    b = await open_services(settings, clock=clock, classifier=fake_classifier)
    a = await open_services(settings, clock=clock, migrate=False)
    try:
        w, u, care, _ = await _setup(b)
        await a.start_background()
        broker = Broker(a, window=0.01, recheck_every=3600)
        feed = NoticeFeed(broker, a)
        broker.after_dispatch.append(feed.push)
        await feed.start()
        await broker.start()
        assert a.listener is not None
        await broker.attach(a.listener)
        try:
            await asyncio.wait_for(a.listener.connected.wait(), 10)
            await asyncio.sleep(0.2)  # the re-check that follows a connection
            yield b, broker, w, u, care
        finally:
            await broker.shutdown()
    finally:
        await a.close()
        await b.close()


@pytest.mark.postgres
async def test_another_instances_assignment_arrives_through_listen_notify(pg_db_url: str, settings_factory: Any,
                                                                          clock: Any, fake_classifier: Any) -> None:
    """On PostgreSQL a lead's assignment on another instance reaches the agent's stream here through
    NOTIFY (re-check off)."""
    async with _two_instances(pg_db_url, settings_factory, clock, fake_classifier) as (_b, broker, w, u, care):
        ann = broker.subscribe(u["ann"])
        await handover.assign(w, u["lea"], care[0], "ann")   # on instance b: NOTIFY in its transaction
        got = await _notices(ann)
        assert got["unread"] == 1 and got["new"][0]["item_id"] == care[0]


@pytest.mark.postgres
async def test_a_notification_committed_after_a_newer_one_is_still_heard(pg_db_url: str, settings_factory: Any,
                                                                         clock: Any, fake_classifier: Any) -> None:
    """Ids are taken at insert, rows become visible at commit: a transaction that commits after a
    newer one leaves its lower id behind the last id read, and the stream still hears it."""
    from inbox.domain.people_notify import Draft
    from inbox.storage.repo import people_notify as repo
    from tests.conftest import open_services
    svc = await open_services(settings_factory(pg_db_url), clock=clock, classifier=fake_classifier)
    try:
        _, u, care, _ = await _setup(svc)
        broker = Broker(svc, window=0.01, recheck_every=3600)
        feed = NoticeFeed(broker, svc)
        await feed.start()
        ann = broker.subscribe(u["ann"])
        async with svc.engine.connect() as slow:
            tx = await slow.begin()
            await repo.record([Draft(u["ann"].id, "mentioned", care[0], key="slow")], conn=slow, now=clock.now())
            async with svc.engine.begin() as fast:
                await repo.record([Draft(u["ann"].id, "mentioned", care[1], key="fast")], conn=fast, now=clock.now())
            await feed.push()
            first = [d for k, d in await _drain(ann) if k == "notifications"]
            assert [[n["item_id"] for n in d["new"]] for d in first] == [[care[1]]]
            await tx.commit()
        await feed.push()
        later = [d for k, d in await _drain(ann) if k == "notifications"]
        assert [[n["item_id"] for n in d["new"]] for d in later] == [[care[0]]] and later[0]["unread"] == 2
        await feed.push()  # heard once
        assert await _drain(ann) == []
    finally:
        await svc.close()


@pytest.mark.postgres
async def test_reading_on_another_instance_updates_the_bell_here(pg_db_url: str, settings_factory: Any,
                                                                 clock: Any, fake_classifier: Any) -> None:
    """On PostgreSQL, notifications read through instance b reach the user's streams on instance a
    through NOTIFY: their bell and tab title show the count left."""
    from aiohttp.test_utils import TestClient, TestServer

    from inbox.web.app import create_app
    from inbox.web.testing import api_token
    async with _two_instances(pg_db_url, settings_factory, clock, fake_classifier) as (b, broker, w, u, care):
        ann = broker.subscribe(u["ann"])
        await handover.assign(w, u["lea"], care[0], "ann")
        assert (await _notices(ann))["unread"] == 1
        token = await api_token(b, u["ann"].id)
        async with TestClient(TestServer(create_app(b.settings, role="web", services=b))) as client:
            got = await client.post("/api/v1/notifications/read-all", json={},
                                    headers={"Authorization": f"Bearer {token}"})
            assert got.status == 200 and (await got.json())["unread"] == 0
        while True:  # the assignment's own notice may come first
            heard = await _notices(ann)
            if heard["new"] == []:
                break
        assert heard == {"unread": 0, "new": []}
