"""The web's read queries on both back ends: the index-driven queue page returns exactly the
order of items.list_items, whatever the mix of priorities, statuses and missing due times."""
from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from connectors.base import Mention
from inbox.storage.repo import items, page_reads
from inbox.storage.tables import ItemStatus


async def test_queue_page_matches_list_items(services: Any) -> None:
    """Pages of page_reads.queue_page equal pages of items.list_items for one status and for all open statuses."""
    res = await services.pipeline.ingest([Mention(source="v", platform="t", external_id=f"v{i}", language="en",
                                                  text=f"order broken refund {i}") for i in range(400)])
    rng = random.Random(7)
    now = services.clock.now()
    async with services.engine.begin() as conn:
        for i in res.item_ids:
            await items.update_item(i, {
                "priority": rng.choice([0, 1, 1, 2, 3, 5]),
                "status": rng.choice(["new", "new", "claimed", "waiting", "resolved"]),
                "first_response_due": None if rng.random() < 0.15 else now + timedelta(minutes=rng.randint(-300, 300)),
            }, conn=conn)
    async with services.engine.connect() as conn:
        for statuses in (("new",), ItemStatus.OPEN):
            for offset in (0, 37, 200, 390):
                want = [x.id for x in await items.list_items("customer_care", conn=conn, statuses=statuses,
                                                             limit=25, offset=offset)]
                got = [x.id for x in await page_reads.queue_page("customer_care", conn=conn, statuses=statuses,
                                                            limit=25, offset=offset)]
                assert got == want, (statuses, offset)
        assert await page_reads.queue_page("marketing", conn=conn, statuses=("new",)) == []


async def _plain_counts(conn: Any, now: Any) -> dict[str, dict[str, Any]]:
    """The oracle: the counts by the plain GROUP BY over the table (what the API used to run)."""
    from sqlalchemy import func, select

    from inbox.storage.repo._common import T_ITEM
    q = (select(T_ITEM.c.team, func.count(), func.sum(func.cast(T_ITEM.c.status == "new", T_ITEM.c.priority.type)),
                func.min(T_ITEM.c.created_at), func.sum(func.cast(T_ITEM.c.first_response_due < now,
                                                                  T_ITEM.c.priority.type)))
         .where(T_ITEM.c.status.in_(list(ItemStatus.OPEN))).group_by(T_ITEM.c.team))
    return {team: {"open": int(n), "new": int(new or 0), "oldest": oldest, "overdue": int(overdue or 0)}
            for team, n, new, oldest, overdue in await conn.execute(q)}


async def test_team_counts(services: Any) -> None:
    """team_counts and queue_overview agree with the plain GROUP BY over the table."""
    await services.pipeline.ingest([Mention(source="v", platform="t", external_id=f"w{i}", language="en",
                                            text=f"order broken refund {i}") for i in range(5)])
    now = services.clock.now()
    async with services.engine.connect() as conn:
        mine = await page_reads.team_counts("customer_care", conn=conn, now=now)
        allc = (await _plain_counts(conn, now))["customer_care"]
    assert mine == allc and mine["open"] == 5
    async with services.engine.connect() as conn:
        assert await page_reads.queue_overview(conn=conn, now=now) == await _plain_counts(conn, now)
