"""The web's read queries on both back ends: the index-driven queue page returns exactly the
order of items.list_items, whatever the mix of priorities, statuses and missing due times."""
from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from connectors.base import Mention
from inbox.models import ItemStatus
from inbox.repo import items, views


async def test_queue_page_matches_list_items(services: Any) -> None:
    """Pages of views.queue_page equal pages of items.list_items for one status and for all open statuses."""
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
                got = [x.id for x in await views.queue_page("customer_care", conn=conn, statuses=statuses,
                                                            limit=25, offset=offset)]
                assert got == want, (statuses, offset)
        assert await views.queue_page("marketing", conn=conn, statuses=("new",)) == []


async def test_team_counts(services: Any) -> None:
    """team_counts and queue_overview agree with items.queue_counts."""
    await services.pipeline.ingest([Mention(source="v", platform="t", external_id=f"w{i}", language="en",
                                            text=f"order broken refund {i}") for i in range(5)])
    now = services.clock.now()
    async with services.engine.connect() as conn:
        mine = await views.team_counts("customer_care", conn=conn, now=now)
        allc = (await items.queue_counts(conn=conn, now=now))["customer_care"]
    assert mine == allc and mine["open"] == 5
    async with services.engine.connect() as conn:
        assert await views.queue_overview(conn=conn, now=now) == await items.queue_counts(conn=conn, now=now)
