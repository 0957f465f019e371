"""SLA on both back ends with a fake clock: business hours across a weekend and the March
daylight-saving change, the breach sweep recording each breach exactly once (also with two sweepers
at once), escalation (priority, leads, notification, return to the queue) and the waiting pause."""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.base import Mention
from inbox.domain.clock import FakeClock
from inbox.ingest.classifier import ClassifierHolder
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts, items
from inbox.storage.tables import Event, Notification
from inbox.work import sla_sweep
from inbox.work.item_actions import WorkService

ROME = {"timezone": "Europe/Rome", "days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00",
        "holidays": ["2026-04-06"]}
FRIDAY_1730_CET = datetime(2026, 3, 27, 16, 30, tzinfo=UTC)  # clocks go forward on Sunday 29 March


async def _open(settings: Any, clock: FakeClock, classifier: Any) -> Services:
    svc = await Services.open(settings, clock=clock)
    svc.classifier = ClassifierHolder(classifier)
    await svc.ready_pipeline()
    return svc


@pytest.fixture
async def sla_services(db_url: str, settings_factory: Any, fake_classifier: Any) -> AsyncIterator[Services]:
    """Customer care works 09-18 Rome time with a 1h first response and a 2h resolution target."""
    base = settings_factory(db_url)
    teams = [t.model_dump() | ({"business_hours": ROME, "sla_first_response": "1h", "sla_resolution": "2h",
                                 "return_on_breach": True} if t.name == "customer_care" else {})
             for t in base.teams]
    settings = settings_factory(db_url, teams=teams,
                                notifications={"webhook_urls": ["http://127.0.0.1:9/never-called"]})
    clock = FakeClock(FRIDAY_1730_CET)
    svc = await _open(settings, clock, fake_classifier)
    await migrate.upgrade(svc.engine)
    async with svc.engine.begin() as conn:
        await accounts.sync_teams(settings.teams, conn=conn, now=clock.now())
    yield svc
    await svc.close()


async def _breach_events(svc: Any, item_id: int) -> list[dict[str, Any]]:
    async with svc.engine.connect() as conn:
        return [e for e in await items.events_for(item_id, conn=conn) if e["kind"] == "sla_breach"]


async def _count(svc: Any, model: Any, *where: Any) -> int:
    async with svc.engine.connect() as conn:
        q = select(func.count()).select_from(model.__table__).where(*where)
        return int((await conn.execute(q)).scalar_one())


async def test_breach_across_weekend_and_dst_is_recorded_once_and_escalated(sla_services: Any) -> None:
    """Friday 17:30 CET + 1 working hour is Monday 09:30 CEST; the sweep flags it once, then escalates."""
    svc, clock = sla_services, sla_services.clock
    now = clock.now()
    async with svc.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now)
        await accounts.add_user("lea", "lead", ["customer_care"], None, conn=conn, now=now)
        await accounts.add_user("leo", "lead", ["marketing"], None, conn=conn, now=now)
    await svc.pipeline.ingest([Mention(source="t", platform="t", external_id="1", language="en",
                                       text="my order arrived broken, I want a refund")])
    async with svc.engine.connect() as conn:
        item = (await items.list_items("customer_care", conn=conn))[0]
    assert item.first_response_due == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # Mon 09:30 CEST
    assert item.resolve_due == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)  # 30 min Fri + 1h30 Mon
    assert item.priority == 1

    clock.set(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))  # Saturday: nothing is due
    assert await sla_sweep.sweep(svc) == {"first_response": 0, "resolution": 0, "returned": 0}
    clock.set(datetime(2026, 3, 30, 7, 29, tzinfo=UTC))  # one minute before the due time
    assert (await sla_sweep.sweep(svc))["first_response"] == 0
    clock.set(datetime(2026, 3, 30, 7, 31, tzinfo=UTC))
    assert (await sla_sweep.sweep(svc))["first_response"] == 1
    assert (await sla_sweep.sweep(svc))["first_response"] == 0  # recorded once
    [ev] = await _breach_events(svc, item.id)
    assert ev["data"]["sla"] == "first_response" and ev["data"]["leads"] == ["lea"]
    assert ev["data"]["priority"] == {"from": 1, "to": 2}
    assert await sla_sweep.notify_batches(svc) == 0          # webhooks hear of it once its minute is over
    clock.set(datetime(2026, 3, 30, 7, 32, 10, tzinfo=UTC))
    assert await sla_sweep.notify_batches(svc) == 1
    assert await sla_sweep.notify_batches(svc) == 0          # queued once
    assert await _count(svc, Notification, Notification.__table__.c.kind == "sla_breach") == 1

    # ann claims it; the resolution target passes at 10:30 CEST and the item goes back to the queue
    w = WorkService(svc.engine, svc.settings, clock)
    claimed = await w.claim_next(ann, "customer_care")
    assert claimed is not None and claimed.id == item.id
    clock.set(datetime(2026, 3, 30, 8, 31, tzinfo=UTC))
    assert await sla_sweep.sweep(svc) == {"first_response": 0, "resolution": 1, "returned": 1}
    after = await w.get(ann, item.id)
    assert (after.status, after.assignee, after.priority) == ("new", None, 3)
    evs = await _breach_events(svc, item.id)
    assert [e["data"]["sla"] for e in evs] == ["first_response", "resolution"]
    assert evs[1]["data"]["returned_to_queue"] is True
    clock.advance(timedelta(seconds=70))
    assert await sla_sweep.notify_batches(svc) == 1
    assert await _count(svc, Notification, Notification.__table__.c.kind == "sla_breach") == 2


async def test_breach_webhooks_are_batched_per_team_per_minute(sla_services: Any) -> None:
    """34 customer-care breaches and 3 marketing ones over five minutes of sweeps every 20 s: one
    webhook message per team per minute that had breaches, each listing its items, none for the
    minute still running, and none twice."""
    svc, clock = sla_services, sla_services.clock
    res = await svc.pipeline.ingest(
        [Mention(source="t", platform="t", external_id=f"c{i}", language="en", text=f"order {i} broken, refund")
         for i in range(34)]
        + [Mention(source="t", platform="t", external_id=f"m{i}", language="en", text=f"love the new price {i}")
           for i in range(3)])
    start = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    clock.set(start)
    due: dict[int, datetime] = {}
    async with svc.engine.begin() as conn:
        for n, item_id in enumerate(res.item_ids):
            due[item_id] = start + timedelta(seconds=5 + n * 8)      # 34 + 3 due times over five minutes
            await items.update_item(item_id, {"first_response_due": due[item_id],
                                              "resolve_due": start + timedelta(days=5)}, conn=conn)
    team_of: dict[int, str] = {}
    async with svc.engine.connect() as conn:
        for item_id in res.item_ids:
            it = await items.get_item(item_id, conn=conn)
            assert it is not None
            team_of[item_id] = it.team
    assert sorted(set(team_of.values())) == ["customer_care", "marketing"]
    queued = 0
    for _ in range(16):                                             # 10:00:20 ... 10:05:20
        clock.advance(timedelta(seconds=20))
        await sla_sweep.sweep(svc)
        queued += await sla_sweep.notify_batches(svc)
    async with svc.engine.connect() as conn:
        breaches = [(e["team"], e["created_at"]) for e in (await conn.execute(
            select(Event.__table__.c.team, Event.__table__.c.created_at)
            .where(Event.__table__.c.kind == "sla_breach"))).mappings()]
    assert len(breaches) == 37
    minutes = {(team, at.replace(second=0, microsecond=0)) for team, at in breaches}
    over = {(t, m) for t, m in minutes if m + timedelta(seconds=70) <= clock.now()}
    assert queued == len(over) < len(minutes) and len(over) < 37 / 3  # batched, the running minute waits
    clock.advance(timedelta(minutes=2))
    queued += await sla_sweep.notify_batches(svc)
    assert queued == len(minutes) and await sla_sweep.notify_batches(svc) == 0
    async with svc.engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(select(Notification.__table__)
                                                     .where(Notification.__table__.c.kind == "sla_breach"))).mappings()]
    assert len(rows) == len(minutes) and all(r["channel"] == "webhook" for r in rows)
    listed: dict[str, list[int]] = {"customer_care": [], "marketing": []}
    for r in rows:
        text = r["payload"]["text"]
        team = "marketing" if " in marketing " in text.splitlines()[0] else "customer_care"
        ids = [int(x) for x in re.findall(r"^• #(\d+) ", text, re.M)]
        assert text.startswith(f":rotating_light: {len(ids)} SLA breach") and ids
        assert all(team_of[i] == team for i in ids)
        listed[team].extend(ids)
    assert sorted(listed["customer_care"]) == sorted(i for i, t in team_of.items() if t == "customer_care")
    assert sorted(listed["marketing"]) == sorted(i for i, t in team_of.items() if t == "marketing")


async def test_concurrent_sweepers_record_each_breach_once(sla_services: Any, fake_classifier: Any) -> None:
    """Two instances sweeping the same overdue items at once write one breach event per item."""
    svc, clock = sla_services, sla_services.clock
    await svc.pipeline.ingest([Mention(source="t", platform="t", external_id=f"c{i}", language="en",
                                       text=f"order {i} never arrived, refund please") for i in range(40)])
    clock.set(datetime(2026, 3, 31, 12, 0, tzinfo=UTC))  # both targets long past
    other = await _open(svc.settings, clock, fake_classifier)  # a second instance: its own engine
    try:
        r1, r2 = await asyncio.gather(sla_sweep.sweep(svc), sla_sweep.sweep(other))
    finally:
        await other.close()
    assert r1["first_response"] + r2["first_response"] == 40
    assert r1["resolution"] + r2["resolution"] == 40
    assert await _count(svc, Event, Event.__table__.c.kind == "sla_breach") == 80
    assert (await sla_sweep.sweep(svc))["resolution"] == 0


async def test_waiting_pauses_the_breach_clock(sla_services: Any) -> None:
    """An item waiting on the customer is not swept; resuming moves its due times by the pause."""
    svc, clock = sla_services, sla_services.clock
    clock.set(datetime(2026, 3, 30, 7, 0, tzinfo=UTC))  # Monday 09:00 CEST
    async with svc.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=clock.now())
    await svc.pipeline.ingest([Mention(source="t", platform="t", external_id="w", language="en",
                                       text="help, my order is broken")])
    w = WorkService(svc.engine, svc.settings, clock)
    item = await w.claim_next(ann, "customer_care")
    assert item is not None and item.resolve_due == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    await w.set_status(ann, item.id, "waiting")
    clock.advance(timedelta(hours=5))
    assert (await sla_sweep.sweep(svc))["resolution"] == 0
    back = await w.set_status(ann, item.id, "claimed")
    assert back.resolve_due == datetime(2026, 3, 30, 14, 0, tzinfo=UTC)
    clock.advance(timedelta(hours=1))
    assert (await sla_sweep.sweep(svc))["resolution"] == 0
    clock.set(datetime(2026, 3, 30, 14, 1, tzinfo=UTC))
    assert (await sla_sweep.sweep(svc))["resolution"] == 1


async def test_sla_due_time_skips_a_team_holiday(sla_services: Any) -> None:
    """Easter Monday is a holiday of the team: a Friday evening item is due on Tuesday."""
    svc, clock = sla_services, sla_services.clock
    clock.set(datetime(2026, 4, 3, 16, 0, tzinfo=UTC))  # Friday 18:00 CEST, after closing
    await svc.pipeline.ingest([Mention(source="t", platform="t", external_id="e", language="en",
                                       text="refund for my broken order please")])
    async with svc.engine.connect() as conn:
        item = (await items.list_items("customer_care", conn=conn))[0]
    assert item.first_response_due == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)  # Tue 10:00 CEST
