"""Notifications on the live streams (SQLite and PostgreSQL): after a change is published, the
person it is for hears ``notifications`` with their unread count and the text in their language;
a customer-care agent named in a note on an HR item hears nothing, not even a count."""
from __future__ import annotations

import asyncio
import json
from typing import Any

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
