"""The item page's reads that run on every view (built once, with bound values): the author's
earlier mentions within what the reader may see, the parent post, the replies and the revisions."""
from __future__ import annotations

from typing import Any

from connectors.base import Mention
from inbox.storage.engine import read_conn
from inbox.storage.repo import replies, revisions


async def test_the_item_page_reads(services: Any) -> None:
    res = await services.pipeline.ingest([
        Mention(source="t", platform="t", external_id=f"e{i}", author_handle="ann", text=text)
        for i, text in enumerate(["my order 1 is broken", "job interview next week?", "refund order 2 please",
                                  "order 3 late"])])
    first, job, third, last = res.item_ids
    async with read_conn(services.engine) as conn:
        for _ in range(2):  # the second time from the built statements' cache
            everyone = await replies.earlier_mentions("t", "ann", last, conn=conn, teams=None)
            care = await replies.earlier_mentions("t", "ann", last, conn=conn, teams=["customer_care"])
            assert [m["id"] for m in everyone] == [third, job, first]
            assert [m["id"] for m in care] == [third, first]
            assert await replies.earlier_mentions("t", "ann", first, conn=conn, teams=None) == []
            assert await replies.earlier_mentions("t", None, last, conn=conn, teams=None) == []
            parent = await replies.parent_mention("t", "e1", conn=conn)
            assert parent is not None and parent["id"] == job and parent["gone"] is False
            assert await replies.for_item(last, conn=conn) == []
            assert await revisions.revisions_for(last, conn=conn) == []


async def test_the_mention_and_its_latest_decision_in_one_read(services: Any) -> None:
    """items.mention_and_decision gives what mention_row and decision_for give, the latest decision
    of several, and no decision (or nothing) where there is none."""
    from inbox.storage.repo import items
    from inbox.storage.repo._common import T_DECISION
    res = await services.pipeline.ingest([Mention(source="t", platform="t", external_id="md1", author_handle="bo",
                                                  text="my order is broken")])
    [mid] = res.item_ids
    async with read_conn(services.engine) as conn:
        mention, decision = await items.mention_and_decision(mid, conn=conn)
        assert mention == await items.mention_row(mid, conn=conn)
        assert decision == await items.decision_for(mid, conn=conn) and decision is not None
        assert await items.mention_and_decision(mid + 1000, conn=conn) == (None, None)
    later = {k: v for k, v in decision.items() if k != "id"} | {"reason": "a later routing"}
    async with services.engine.begin() as conn:
        await conn.execute(T_DECISION.insert(), [later])
    async with read_conn(services.engine) as conn:
        mention, decision = await items.mention_and_decision(mid, conn=conn)
        assert decision is not None and decision["reason"] == "a later routing"
        assert decision == await items.decision_for(mid, conn=conn)
    async with services.engine.begin() as conn:
        await conn.execute(T_DECISION.delete().where(T_DECISION.c.mention_id == mid))
    async with read_conn(services.engine) as conn:
        got = await items.mention_and_decision(mid, conn=conn)
        assert got == (await items.mention_row(mid, conn=conn), None)


async def test_the_item_and_whether_its_reader_has_unread_notifications_about_it(services: Any) -> None:
    """page_reads.item_for_page: the item as get_item gives it within the reader's teams (else
    None), and True only while the reader has an unread notification about that item."""
    from inbox.storage.repo import accounts, items, page_reads
    from inbox.storage.repo._common import T_USER_NOTE
    res = await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"u{i}", author_handle="cy",
                                                  text=text) for i, text in enumerate(["my order is broken",
                                                                                       "refund please"])])
    mine, other = res.item_ids
    now = services.clock.now()
    async with services.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now)
        bob = await accounts.add_user("bob", "agent", ["customer_care"], None, conn=conn, now=now)
        await conn.execute(T_USER_NOTE.insert(), [
            {"user_id": ann.id, "kind": "assigned", "item_id": mine, "dedupe_key": "a", "created_at": now,
             "read_at": None},
            {"user_id": ann.id, "kind": "assigned", "item_id": other, "dedupe_key": "b", "created_at": now,
             "read_at": now}])
    async with read_conn(services.engine) as conn:
        for _ in range(2):  # the second time from the built statement's cache
            item, unread = await page_reads.item_for_page(mine, ann.id, conn=conn, teams=["customer_care"])
            assert item == await items.get_item(mine, conn=conn) and unread is True
            assert await page_reads.item_for_page(mine, bob.id, conn=conn, teams=None) == (item, False)
            item, unread = await page_reads.item_for_page(other, ann.id, conn=conn, teams=["customer_care"])
            assert item is not None and item.id == other and unread is False
            assert await page_reads.item_for_page(mine, ann.id, conn=conn, teams=["hr"]) == (None, False)
            assert await page_reads.item_for_page(mine + 1000, ann.id, conn=conn, teams=None) == (None, False)


async def test_an_author_s_earlier_mentions_are_read_newest_first_off_an_index(services: Any) -> None:
    """The earlier mentions of an author are read from the item's own posting time down an index of
    (source, author, posted, id) and stop at the limit: on SQLite the plan sorts nothing (with an
    index of ids only, every mention of the author was read and sorted by posting time)."""
    from datetime import timedelta

    from tests.conftest import sent_statements
    now = services.clock.now()
    res = await services.pipeline.ingest([
        Mention(source="t", platform="t", external_id=f"p{i}", author_handle="dee", text=f"order {i} is late",
                created_at=now - timedelta(minutes=60 - i) if i % 3 else None) for i in range(30)])
    last = res.item_ids[-1]
    with sent_statements(services.engine, "SELECT") as sent:
        async with read_conn(services.engine) as conn:
            got = await replies.earlier_mentions("t", "dee", last, conn=conn, teams=None, limit=5)
    async with read_conn(services.engine) as conn:  # the oracle: every mention of the author, sorted here
        every = [dict(r._mapping) for r in await conn.exec_driver_sql(
            "SELECT id, coalesce(created_at, fetched_at) AS posted FROM mention WHERE author_handle = 'dee'")]
    own = next(m["posted"] for m in every if m["id"] == last)
    older = sorted((m for m in every if (m["posted"], m["id"]) < (own, last)), key=lambda m: (m["posted"], m["id"]),
                   reverse=True)
    assert [m["id"] for m in got] == [m["id"] for m in older[:5]]
    if services.engine.dialect.name == "sqlite":
        statement, parameters = sent[-1]
        async with read_conn(services.engine) as conn:
            plan = [str(r[-1]) for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        assert any("ix_mention_author_posted" in p for p in plan), plan
        assert not [p for p in plan if "TEMP B-TREE" in p], plan
