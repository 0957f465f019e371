"""Migrations 0020 and 0021 on SQLite and PostgreSQL: mentions stored before 0018 (no copy_key) get
the key ingest writes, in batches, so the queue lists copies of one post once; the items stored
before 0021 are marked as copy candidates, so the counts count what the queue lists."""
from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import text

from connectors.base import Mention
from inbox.domain.near_duplicates import copy_key
from inbox.storage import migrate
from inbox.storage.repo import page_reads

_POST = "RT @shop: the app lost my order 4711 again, refund now! https://x.example/{}"


async def _keys(svc: Any) -> dict[int, tuple[str | None, str]]:
    async with svc.engine.connect() as conn:
        return {int(i): (k, t) for i, k, t in await conn.execute(text("SELECT id, copy_key, text FROM mention"))}


async def _listed(svc: Any) -> list[int]:
    """The ids the queue lists, checking that its counts count as many."""
    async with svc.engine.connect() as conn:
        listed = sorted(r.id for r in await page_reads.queue_page("customer_care", conn=conn, statuses=("new",)))
        counts = await page_reads.team_counts("customer_care", conn=conn, now=svc.clock.now())
    assert (counts["open"], counts["new"]) == (len(listed), len(listed))
    return listed


async def _forget_keys(svc: Any) -> None:
    """As stored before 0018."""
    async with svc.engine.begin() as conn:
        await conn.execute(text("UPDATE mention SET copy_key = NULL"))


async def test_0020_keys_the_mentions_stored_before_0018(services: Any) -> None:
    res = await services.pipeline.ingest(
        [Mention(source="t", platform="t", external_id=f"p{i}", text=_POST.format(i)) for i in range(3)]
        + [Mention(source="t", platform="t", external_id="o", text="the app lost my order 4712 again, refund now!"),
           Mention(source="t", platform="t", external_id="s", text="refund order now")])
    ingested = await _keys(services)
    assert sorted(ingested) == sorted(res.item_ids)
    copies = sorted(i for i, (_, t) in ingested.items() if "4711" in t)
    short = next(i for i, (_, t) in ingested.items() if t == "refund order now")
    other = next(i for i, (_, t) in ingested.items() if "4712" in t)
    assert all(k == copy_key(t) for k, t in ingested.values()) and ingested[short][0] is None
    await _forget_keys(services)
    async with services.engine.begin() as conn:
        await conn.execute(text("UPDATE queue_item SET copy_candidate = false"))
    assert len(await _listed(services)) == 5  # unkeyed: every copy listed on its own
    await migrate.downgrade(services.engine, "0019")
    await migrate.upgrade(services.engine)
    assert await _keys(services) == ingested
    assert await _listed(services) == sorted([copies[0], other, short])
    # in batches smaller than the table, ending on a batch of short texts: the same keys
    await _forget_keys(services)
    m0020 = importlib.import_module("inbox.storage.migrations.versions.0020_backfill_copy_key")
    async with services.engine.begin() as conn:
        assert await conn.run_sync(lambda c: m0020.backfill(c, batch=2)) == 4
    assert await _keys(services) == ingested


async def test_0021_marks_the_items_stored_before_it(services: Any) -> None:
    """Items with an older copy of their mention are marked, in batches smaller than the table."""
    res = await services.pipeline.ingest(
        [Mention(source="t", platform="t", external_id=f"p{i}", text=_POST.format(i)) for i in range(4)]
        + [Mention(source="t", platform="t", external_id="o", text="the app lost my order 4712 again, refund now!")])

    async def marked() -> list[int]:
        async with services.engine.connect() as conn:
            return sorted(int(r[0]) for r in await conn.execute(
                text("SELECT id FROM queue_item WHERE copy_candidate = true")))
    ingested = await marked()
    copies = sorted(i for i, (_, t) in (await _keys(services)).items() if "4711" in t)
    assert ingested == copies[1:] and len(ingested) == 3
    m0021 = importlib.import_module("inbox.storage.migrations.versions.0021_queue_item_copy_candidate")
    async with services.engine.begin() as conn:
        await conn.execute(text("UPDATE queue_item SET copy_candidate = false"))
        assert await conn.run_sync(lambda c: m0021.mark(c, batch=2)) == 3
    assert await marked() == ingested
    assert sorted(res.item_ids) == sorted(await _keys(services))
