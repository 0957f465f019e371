"""The work views on SQLite and PostgreSQL: each view holds what its name says, only of the teams
the user sees (never HR for customer care), in the chosen order."""
from __future__ import annotations

from typing import Any

from connectors.base import Mention
from inbox.storage.repo import accounts, items, views
from inbox.work import handover
from inbox.work.item_actions import WorkService, visible_teams


async def test_views(services: Any) -> None:
    now = services.clock.now()
    async with services.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now)
        bob = await accounts.add_user("bob", "agent", ["customer_care"], None, conn=conn, now=now)
    res = await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"c{i}",
                                                  text=f"my order {i} is broken, refund") for i in range(5)]
                                         + [Mention(source="t", platform="t", external_id="h", text="job interview")])
    async with services.engine.connect() as conn:
        teams = {i: (await items.get_item(i, conn=conn)).team for i in res.item_ids}  # type: ignore[union-attr]
    care = [i for i in res.item_ids if teams[i] == "customer_care"]
    w = WorkService(services.engine, services.settings, services.clock)
    await handover.assign(w, ann, care[0], "ann")
    await handover.assign(w, bob, care[1], "bob")
    await w.set_status(ann, care[2], "waiting")
    await w.set_status(ann, care[3], "resolved")

    async def ids(view: str, sort: str = "priority") -> list[int]:
        async with services.engine.connect() as conn:
            got = await views.view_items(view, conn=conn, user_id=ann.id, teams=visible_teams(ann),
                                         now=services.clock.now(), triage_team="triage", sort=sort)
        return [it.id for it in got]
    assert await ids("mine") == [care[0], care[2]]
    assert await ids("others") == [care[1]]
    assert await ids("unassigned") == [care[4]]
    assert await ids("waiting") == [care[2]]
    assert await ids("resolved") == [care[3]]
    assert sorted(await ids("open")) == sorted([care[0], care[1], care[2], care[4]])
    assert await ids("open", "age") == sorted(await ids("open", "age"))
    assert await ids("triage") == []
    for view in views.VIEWS:
        assert not set(await ids(view)) - set(care)  # never the HR item


async def test_copies_of_one_post_are_counted_and_resolved_together(services: Any) -> None:
    from inbox.work import similar
    now = services.clock.now()
    async with services.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now)
    text = "Your app lost my order again, refund now! https://x.example/{}"
    res = await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"d{i}", text=text.format(i))
                                          for i in range(3)]
                                         + [Mention(source="t", platform="t", external_id="o",
                                                    text="a different broken order, refund please")]
                                         + [Mention(source="t", platform="t", external_id=f"n{n}",
                                                    text=f"RT @shop: my order {n} never arrived, refund please")
                                            for n in (4711, 4712)])
    first, *copies = res.item_ids[:3]
    w = WorkService(services.engine, services.settings, services.clock)
    found = await similar.similar_open(w, res.item_ids)
    assert found[first] == copies and res.item_ids[3] not in found
    # the same words with another order number: one crisis cluster, but two customers, not copies
    assert res.item_ids[4] not in found and res.item_ids[5] not in found
    item, done = await similar.resolve_with_similar(w, ann, first)
    assert item.status == "resolved" and done == copies
    async with services.engine.connect() as conn:
        for c in copies:
            assert (await items.get_item(c, conn=conn)).status == "resolved"  # type: ignore[union-attr]
        assert (await items.get_item(res.item_ids[3], conn=conn)).status == "new"  # type: ignore[union-attr]
    assert await similar.similar_open(w, [first]) == {}


async def test_the_queue_lists_the_original_of_copies_once(services: Any) -> None:
    """Copies of one post are one item: the queue page (and the API's queue) lists the oldest open
    one; once it is resolved alone, the next copy stands for the post. Another order number is
    another customer, listed on its own."""
    from inbox.storage.repo import page_reads
    now = services.clock.now()
    async with services.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now)
    text = "RT @shop: the app lost my order 4711 again, refund now! https://x.example/{}"
    res = await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"q{i}", text=text.format(i))
                                          for i in range(3)]
                                         + [Mention(source="t", platform="t", external_id="q9",
                                                    text="the app lost my order 4712 again, refund now!")])
    first, second, third, other = res.item_ids

    async def listed() -> list[int]:
        async with services.engine.connect() as conn:
            rows = await page_reads.queue_page("customer_care", conn=conn, statuses=("new",))
            sorted_rows = await page_reads.queue_page(None, conn=conn, statuses=("new",), teams=["customer_care"])
        assert [r.id for r in rows] == [r.id for r in sorted_rows]
        return sorted(r.id for r in rows)

    assert await listed() == [first, other]
    w = WorkService(services.engine, services.settings, services.clock)
    await w.set_status(ann, first, "resolved")
    assert await listed() == [second, other]


async def test_claim_next_skips_the_copies_of_an_open_original(services: Any) -> None:
    """Claim next never hands out a copy: with the original claimed, its copies wait with it and
    the next claim takes another post (SQLite's UPDATE and PostgreSQL's SKIP LOCKED statement)."""
    now = services.clock.now()
    async with services.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now)
        bob = await accounts.add_user("bob", "agent", ["customer_care"], None, conn=conn, now=now)
    text = "RT @shop: the app lost my order 4711 again, refund now! https://x.example/{}"
    res = await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"k{i}", text=text.format(i))
                                          for i in range(3)]
                                         + [Mention(source="t", platform="t", external_id="k9",
                                                    text="the app lost my order 4712 again, refund now!")])
    first, _, _, other = res.item_ids
    w = WorkService(services.engine, services.settings, services.clock)
    got = [await w.claim_next(ann, "customer_care"), await w.claim_next(bob, "customer_care"),
           await w.claim_next(bob, "customer_care")]
    assert sorted(c.id for c in got[:2] if c is not None) == [first, other] and got[2] is None


async def test_the_counts_count_what_the_queue_lists(services: Any) -> None:
    """The header and overview counts leave out the copies the queue does not list, as the
    original is claimed, released, resolved alone, or an edit makes an older mention the original
    of later ones (and then not)."""
    from datetime import timedelta

    from inbox.storage.repo import page_reads
    now = services.clock.now()
    async with services.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now)
    text = "RT @shop: the app lost my order 4711 again, refund now! https://x.example/{}"
    first = Mention(source="t", platform="t", external_id="q9", text="the app lost my order 4712 again, refund now!")
    other = (await services.pipeline.ingest([first])).item_ids[0]
    res = await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"q{i}", text=text.format(i))
                                          for i in range(3)])
    c1, c2, _ = sorted(res.item_ids)
    w = WorkService(services.engine, services.settings, services.clock)

    async def check(open_: int, new: int) -> list[int]:
        async with services.engine.connect() as conn:
            listed = await page_reads.queue_page("customer_care", conn=conn)
            counts = await page_reads.team_counts("customer_care", conn=conn, now=services.clock.now())
            overview = await page_reads.queue_overview(conn=conn, now=services.clock.now())
        assert (counts["open"], counts["new"]) == (len(listed), sum(r.status == "new" for r in listed))
        assert (counts["open"], counts["new"]) == (open_, new)
        assert overview["customer_care"] == counts
        return sorted(r.id for r in listed)

    assert await check(2, 2) == [other, c1]                 # three copies are one item
    await w.set_status(ann, c1, "claimed")
    await check(2, 1)                                        # the copies wait with the claimed original
    await w.release(ann, c1)
    # an edit makes the older mention of another customer a copy of the post: the original now
    edits = iter(range(1, 10))

    async def edit(new_text: str) -> None:
        await services.pipeline.ingest([Mention(source="t", platform="t", external_id="q9", text=new_text,
                                                edited_at=now + timedelta(minutes=next(edits)))])
    await edit(text.format(9))
    assert await check(1, 1) == [other]
    await edit("my order 4711 refund is still missing, please help")  # and no longer
    assert await check(2, 2) == [other, c1]
    await w.set_status(ann, c1, "resolved")                  # resolved alone: the next copy stands for it
    assert await check(2, 2) == [other, c2]


async def test_every_team_s_queue_page_is_one_statement_text(services: Any) -> None:
    """The queue page's statement is the same SQL for every team (the team a bound value, the
    statuses and priority levels constants of its text): compiled once, one prepared statement on
    PostgreSQL, nothing rendered per execution; each team still gets only its own items."""
    from inbox.storage.repo import page_reads
    from tests.conftest import sent_statements
    res = await services.pipeline.ingest([Mention(source="t", platform="t", external_id="a", text="refund my order 1"),
                                          Mention(source="t", platform="t", external_id="b", text="job interview")])
    care, hr = res.item_ids
    with sent_statements(services.engine, "WITH") as sent:
        async with services.engine.connect() as conn:
            got = {team: [r.id for r in await page_reads.queue_page(team, conn=conn, statuses=("new",))]
                   for team in ("customer_care", "hr")}
    assert got == {"customer_care": [care], "hr": [hr]}
    assert len(sent) == 2 and sent[0][0] == sent[1][0]
    assert "customer_care" not in sent[0][0]


async def test_an_item_s_copies_are_found_through_its_post_not_its_queue(services: Any) -> None:
    """The item page's "similar open items" statement finds the copies through the post's
    ``copy_key`` range and checks each one's team and status by primary key: on SQLite its plan
    never reads the team's queue off ``ix_queue_item_claim`` (without statistics the planner
    preferred that range, every open item of the team, when the team was a join condition)."""
    from inbox.storage.repo import views
    from tests.conftest import sent_statements
    text = "RT @shop: the app lost my order 4711 again, refund now! https://x.example/{}"
    await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"o{i}",
                                            text=f"order {i} is broken, help") for i in range(5)])
    res = await services.pipeline.ingest([Mention(source="t", platform="t", external_id=f"p{i}", text=text.format(i))
                                          for i in range(3)])
    first, *copies = res.item_ids
    with sent_statements(services.engine, "SELECT") as sent:
        async with services.engine.connect() as conn:
            assert await views.similar_open([first], conn=conn) == {first: copies}
    if services.engine.dialect.name == "sqlite":
        [(statement, parameters)] = sent
        async with services.engine.connect() as conn:
            plan = [str(r[-1]) for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        assert any("ix_mention_copy_key (copy_key=?)" in p for p in plan), plan
        assert not [p for p in plan if "team=?" in p], plan
