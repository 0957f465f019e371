"""Crisis detection on both back ends with a fake clock: a steady stream opens no crisis; a spike of
near-duplicate complaints injected into it opens exactly one crisis item in the PR queue (also when
two instances check at once), links and raises the related items and queues a notification; a
label-volume spike opens one label crisis_watch."""
from __future__ import annotations

import asyncio
import random
import string
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.base import Mention
from inbox.domain.clock import FakeClock
from inbox.ops.services import Services
from inbox.storage.repo import items
from inbox.storage.tables import Crisis, Notification, QueueItem
from inbox.work import crisis_watch
from tests.conftest import open_services

START = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)
CUES = ["refund", "price", "hiring", "journalist", "love", "order", "offer", "help"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 8)))


def steady_texts(n: int, seed: int = 7) -> list[str]:
    """Unrelated mentions: random words plus one label cue each, never near-duplicates."""
    rng = random.Random(seed)
    return [" ".join([_word(rng) for _ in range(9)] + [rng.choice(CUES)]) for _ in range(n)]


def storm_texts(n: int) -> list[str]:
    """One complaint copied, reposted and lightly edited."""
    base = "@acme your app update deleted all my photos and support does nothing, this is a disgrace"
    variants = [base, f"RT @user: {base}", base.replace("photos", "pictures"), base + " #acmefail",
                base.upper(), base.replace("does nothing", "does nothing at all"), base + " https://t.co/abc"]
    return [variants[i % len(variants)] + ("" if i < len(variants) else f" {i}") for i in range(n)]


@pytest.fixture
async def csvc(db_url: str, settings_factory: Any, fake_classifier: Any) -> AsyncIterator[Services]:
    settings = settings_factory(db_url, notifications={"webhook_urls": ["http://127.0.0.1:9/never"]})
    svc = await open_services(settings, clock=FakeClock(START), classifier=fake_classifier)
    yield svc
    await svc.close()


async def feed(svc: Any, timeline: list[tuple[datetime, str]]) -> None:
    """Ingest each text at its time (the fake clock stamps fetched_at), one small batch per minute."""
    by_minute: dict[datetime, list[str]] = {}
    for t, text in sorted(timeline):
        by_minute.setdefault(t.replace(second=0, microsecond=0), []).append(text)
    n = 0
    for minute, texts in sorted(by_minute.items()):
        svc.clock.set(minute)
        batch = []
        for text in texts:
            n += 1
            batch.append(Mention(source="stream", platform="t", external_id=f"{minute.isoformat()}-{n}",
                                 text=text, language="en"))
        await svc.pipeline.ingest(batch)


def steady_timeline(hours: int, per_hour: int = 10, seed: int = 7) -> list[tuple[datetime, str]]:
    texts = steady_texts(hours * per_hour, seed)
    step = timedelta(hours=1) / per_hour
    return [(START + step * i, t) for i, t in enumerate(texts)]


async def _count(svc: Any, model: Any, *where: Any) -> int:
    async with svc.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model.__table__).where(*where))).scalar_one())


async def test_steady_stream_opens_no_crisis(csvc: Any) -> None:
    """Fifteen hours of ten unrelated mentions an hour, checked every hour: no crisis_watch."""
    timeline = steady_timeline(15)
    for hour in range(1, 16):
        await feed(
            csvc,
            [(t, x) for t, x in timeline if START + timedelta(hours=hour - 1) <= t < START + timedelta(hours=hour)],
        )
        csvc.clock.set(START + timedelta(hours=hour))
        out = await crisis_watch.check_crises(csvc)
        assert out["opened"] == [], f"hour {hour}: {out}"
    assert await _count(csvc, Crisis) == 0


async def test_spike_of_near_duplicates_opens_exactly_one_crisis(csvc: Any, fake_classifier: Any) -> None:
    """30 edited copies of one complaint in the 14th hour of a steady stream open one crisis item."""
    timeline = steady_timeline(14)
    spike_start = START + timedelta(hours=13, minutes=10)
    storm = [(spike_start + timedelta(minutes=i), t) for i, t in enumerate(storm_texts(30))]
    await feed(csvc, timeline + storm)
    csvc.clock.set(START + timedelta(hours=14))
    other = await Services.open(csvc.settings, clock=csvc.clock)  # a second instance, its own engine
    try:
        r1, r2 = await asyncio.gather(crisis_watch.check_crises(csvc), crisis_watch.check_crises(other))
    finally:
        await other.close()
    assert len(r1["opened"]) + len(r2["opened"]) == 1
    assert await _count(csvc, Crisis) == 1
    async with csvc.engine.connect() as conn:
        c = dict((await conn.execute(select(Crisis.__table__))).one()._mapping)
        pr = await items.list_items("pr", conn=conn)
        linked = (await conn.execute(select(QueueItem.__table__.c.id, QueueItem.__table__.c.priority)
                                     .where(QueueItem.__table__.c.crisis_id == c["id"],
                                            QueueItem.__table__.c.id != c["item_id"]))).all()
    assert c["kind"] == "cluster" and c["status"] == "open" and c["count"] >= 30
    crisis_items = [i for i in pr if i.source == "crisis"]
    assert [i.id for i in crisis_items] == [c["item_id"]] and crisis_items[0].priority == 3
    assert pr[0].id == c["item_id"]  # the crisis item heads the PR queue
    assert len(linked) == 30 and all(p >= 2 for _, p in linked)
    assert await _count(csvc, Notification, Notification.__table__.c.kind == "crisis") == 1
    # later checks extend the same crisis instead of opening another one
    await feed(csvc, [(START + timedelta(hours=14, minutes=5), storm_texts(40)[35])])
    csvc.clock.set(START + timedelta(hours=14, minutes=10))
    again = await crisis_watch.check_crises(csvc)
    assert again["opened"] == [] and again["extended"] == [c["id"]] and again["linked"] == 1
    assert await _count(csvc, Crisis) == 1
    # and it closes after the cooldown without related mentions
    csvc.clock.set(START + timedelta(hours=21))
    assert (await crisis_watch.check_crises(csvc))["closed"] == [c["id"]]


async def test_label_volume_spike_opens_one_label_crisis(csvc: Any) -> None:
    """Forty distinct press mentions in an hour, against a steady baseline, open one 'pr' crisis_watch."""
    rng = random.Random(3)
    press = [(START + timedelta(hours=13, minutes=i + 5), " ".join(_word(rng) for _ in range(10)) + " journalist")
             for i in range(40)]
    await feed(csvc, steady_timeline(14) + press)
    csvc.clock.set(START + timedelta(hours=14))
    out = await crisis_watch.check_crises(csvc)
    assert len(out["opened"]) == 1
    async with csvc.engine.connect() as conn:
        [c] = [dict(r._mapping) for r in await conn.execute(select(Crisis.__table__))]
    assert (c["kind"], c["subject"]) == ("label", "label:pr")
    assert out["linked"] >= 40
    assert (await crisis_watch.check_crises(csvc))["opened"] == []


def test_spike_rule() -> None:
    """A flat baseline needs Poisson headroom; a minimum count applies; a real jump is a spike."""
    assert crisis_watch.spike(11, [10] * 12, k=3, min_count=5)[0] is False
    assert crisis_watch.spike(40, [10] * 12, k=3, min_count=5)[0] is True
    assert crisis_watch.spike(6, [0] * 12, k=3, min_count=8)[0] is False
    assert crisis_watch.spike(8, [0] * 12, k=3, min_count=8)[0] is True


async def test_safety_mentions_about_one_product_open_a_crisis(csvc: Any) -> None:
    """Three product-safety mentions naming one product (English and Italian) open one safety crisis
    in the PR queue and link them; two about another product and unrelated mentions don't."""
    at = START + timedelta(minutes=10)
    kettle = ["My Acme kettle exploded this morning", "acme kettle caught fire on the stove!!",
              "Il kettle Acme è esploso, prodotto pericoloso"]
    toaster = ["the Acme toaster caught fire", "toaster exploded, dangerous"]
    await feed(csvc, [(at + timedelta(minutes=i), t) for i, t in enumerate(kettle + toaster + steady_texts(5))])
    csvc.clock.set(START + timedelta(hours=1))
    out = await crisis_watch.check_crises(csvc)
    assert len(out["opened"]) == 1 and out["linked"] == 3
    async with csvc.engine.connect() as conn:
        c = dict((await conn.execute(select(Crisis.__table__))).one()._mapping)
        pr = await items.list_items("pr", conn=conn)
        care = await items.list_items("customer_care", conn=conn)
        linked = set((await conn.execute(select(QueueItem.__table__.c.id).where(
            QueueItem.__table__.c.crisis_id == c["id"], QueueItem.__table__.c.id != c["item_id"]))).scalars())
    assert (c["kind"], c["subject"], c["count"]) == ("safety", "safety:kettle", 3)
    assert [i.id for i in pr if i.source == "crisis"] == [c["item_id"]]
    assert sorted(i.text for i in care if i.id in linked) == sorted(kettle) and len(linked) == 3
    assert all(i.priority == 3 for i in care if i.text in kettle + toaster)
    assert all("pr" in i.watchers for i in care if i.text in kettle + toaster)
    again = await crisis_watch.check_crises(csvc)
    assert again["opened"] == [] and again["extended"] == [c["id"]]
