"""A queue page's rows (inbox.storage.repo.queue_rows), on both back ends: the same items in the same
order as the team's queue listing (page_reads.queue_page) for any page, with the fields a row shows;
and "assigned to you" holds the reader's open items of that team however many they hold elsewhere."""
from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection

from connectors.base import Mention
from inbox.storage.repo import page_reads, queue_rows
from inbox.storage.repo._common import T_ITEM
from inbox.storage.tables import ItemStatus
from inbox.web.testing import SeedUser, seed_users


async def _ingest(svc: Any, texts: list[str], tag: str) -> list[int]:
    res = await svc.pipeline.ingest([Mention(source="t", platform="t", external_id=f"{tag}{i}",
                                             author_handle=f"a{i % 3}", text=t) for i, t in enumerate(texts)])
    return list(res.item_ids)


async def test_rows_follow_the_queue_listing(services: Any) -> None:
    care = await _ingest(services, [f"order {i} arrived broken, refund" for i in range(9)], "c")
    await _ingest(services, ["my order arrived broken, refund"] * 1, "dup")  # a copy of nobody: its own text
    await _ingest(services, [f"love the price {i}" for i in range(3)], "m")  # another team's
    async with services.engine.begin() as conn:  # priorities and one claimed item change the order
        await conn.execute(update(T_ITEM).where(T_ITEM.c.id.in_(care[:3])).values(priority=3))
        await conn.execute(update(T_ITEM).where(T_ITEM.c.id == care[4]).values(status=ItemStatus.CLAIMED))

    def both(c: Connection, statuses: tuple[str, ...], limit: int, offset: int) -> tuple[list[Any], list[Any]]:
        return (queue_rows.queue_rows_sync(c, "customer_care", statuses=statuses, limit=limit, offset=offset),
                page_reads.queue_page_sync(c, "customer_care", statuses=statuses, limit=limit, offset=offset))

    for statuses, limit, offset in [((ItemStatus.NEW,), 51, 0), ((ItemStatus.NEW,), 4, 0), ((ItemStatus.NEW,), 4, 4),
                                    (tuple(ItemStatus.OPEN), 50, 0), ((ItemStatus.NEW,), 5, 20)]:
        rows, summaries = await services.reads.run(both, statuses, limit, offset)
        assert [r.id for r in rows] == [s.id for s in summaries], (statuses, limit, offset)
        for r, s in zip(rows, summaries, strict=True):
            assert (r.team, r.status, r.priority, r.text, r.source, r.author) == \
                   (s.team, s.status, s.priority, s.text, s.source, s.author)
            assert (r.first_response_due, r.resolve_due) == (s.first_response_due, s.resolve_due)
            assert r.extra == {k: s.extra[k] for k in ("first_touched_at", "resolved_at")}
    first, _ = await services.reads.run(both, (ItemStatus.NEW,), 51, 0)
    assert [r.id for r in first[:3]] == sorted(care[:3]) and care[4] not in [r.id for r in first]
    assert all(r.team == "customer_care" for r in first) and len(first) == 9  # 10 new care items less the claimed


async def test_assigned_to_you_is_the_teams_own_however_many_elsewhere(services: Any) -> None:
    ids = await seed_users(services, (SeedUser("carla", "agent", ("customer_care", "marketing")),))
    uid = ids["carla"].id
    care = await _ingest(services, [f"order {i} broken, refund" for i in range(4)], "c")
    mkt = await _ingest(services, [f"love the offer {i}" for i in range(60)], "m")
    async with services.engine.begin() as conn:
        await conn.execute(update(T_ITEM).where(T_ITEM.c.id.in_(mkt + care[:3]))
                           .values(assignee_id=uid, status=ItemStatus.CLAIMED))
        await conn.execute(update(T_ITEM).where(T_ITEM.c.id == care[2]).values(status=ItemStatus.RESOLVED))
        # the 60 items held elsewhere are all more urgent than this team's: the 50 most urgent of
        # every team (what the page read before) hold none of this team's
        await conn.execute(update(T_ITEM).where(T_ITEM.c.id.in_(mkt)).values(priority=3))
        await conn.execute(update(T_ITEM).where(T_ITEM.c.id == care[0]).values(priority=2))

    mine = await services.reads.run(queue_rows.my_queue_rows_sync, uid, "customer_care")
    assert [r.id for r in mine] == [care[0], care[1]]  # most urgent first; the resolved one is not open
    assert {r.status for r in mine} == {ItemStatus.CLAIMED}
    assert len(await services.reads.run(queue_rows.my_queue_rows_sync, uid, "marketing")) == 50  # the limit


async def test_an_items_conversation_is_the_other_queued_mentions_of_its_thread(services: Any) -> None:
    def post(ext: str, text: str, thread: str | None = None, reply: str | None = None, source: str = "t") -> Mention:
        return Mention(source=source, platform="t", external_id=ext, author_handle="ann", text=text,
                       thread_id=thread, reply_to_id=reply)
    posts = [post("root", "my order is broken, refund"), post("r1", "same here, order broken", "root", "root"),
             post("r2", "love the offer though", "root", "r1"), post("other", "order broken elsewhere", "x", "x"),
             post("r9", "refund my order", "root", "root", source="u")]  # another source's thread of that id
    root, r1, r2 = [(await services.pipeline.ingest([p])).item_ids[0] for p in posts][:3]

    async def thread(item: int, thread_id: str | None, reply: str | None, teams: list[str] | None) -> list[int]:
        got = await services.reads.run(queue_rows.thread_rows_sync, item, thread_id, reply, "t", teams=teams)
        return [r.id for r in got]

    assert await thread(r2, "root", "r1", None) == [root, r1]  # the thread's start and the post replied to
    assert await thread(r1, "root", "root", None) == [root, r2]
    assert await thread(root, None, None, None) == []  # no thread named: nothing to look up
    assert await thread(r1, "root", "root", ["customer_care"]) == [root]  # r2 is marketing's, not visible
    rows = await services.reads.run(queue_rows.thread_rows_sync, r1, "root", "root", "t", teams=None)
    assert (rows[1].team, rows[1].text, rows[1].author) == ("marketing", "love the offer though", "ann")
