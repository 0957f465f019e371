"""Transfers on both back ends: a reason is required, each transfer to a labelled team is a labelled
correction (what the model said, what the agent decided, why, who), moving to triage is a transfer
but not a label, bounces count every return to a team the item had left, a private team's item
drops its watchers; watchers read items and their notes but cannot act."""
from __future__ import annotations

from typing import Any

import pytest

from connectors.base import Mention
from inbox.errors import Conflict, Forbidden, Invalid, NotFound
from inbox.storage.repo import accounts, items
from inbox.work.item_actions import WorkService


async def _setup(svc: Any) -> tuple[WorkService, dict[str, Any], int]:
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        u = {n: await accounts.add_user(n, "agent", [t], None, conn=conn, now=now)
             for n, t in (("cc", "customer_care"), ("mk", "marketing"), ("pr", "pr"), ("hr", "hr"),
                          ("tri", "triage"))}
    await svc.pipeline.ingest([Mention(source="t", platform="t", external_id="1", language="en",
                                       text="my order is broken, refund")])
    async with svc.engine.connect() as conn:
        item = (await items.list_items("customer_care", conn=conn))[0]
    return WorkService(svc.engine, svc.settings, svc.clock), u, item.id


async def _corrections(svc: Any) -> list[dict[str, Any]]:
    async with svc.engine.connect() as conn:
        return await items.corrections(conn=conn)


async def test_transfer_rules_and_corrections(services: Any) -> None:
    """Reason required; same team, unknown team and finished items are refused; corrections recorded."""
    w, u, iid = await _setup(services)
    for bad_reason in ("", "   ", None):
        with pytest.raises(Invalid):
            await w.transfer(u["cc"], iid, "marketing", bad_reason)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        await w.transfer(u["cc"], iid, "legal", "no such team")
    with pytest.raises(Conflict):
        await w.transfer(u["cc"], iid, "customer_care", "already there")
    with pytest.raises(NotFound):  # not a member, not watching: the item does not exist for them
        await w.transfer(u["mk"], iid, "marketing", "not my item to move")
    moved = await w.transfer(u["cc"], iid, "marketing", " product feedback ")
    assert (moved.team, moved.status, moved.extra["transfers"]) == ("marketing", "new", 1)
    [c] = await _corrections(services)
    assert (c["label"], c["predicted_label"], c["reason"]) == ("marketing", "customer_care", "product feedback")
    # to triage: a transfer, not a labelled correction
    await w.transfer(u["mk"], iid, "triage", "not sure whose this is")
    assert len(await _corrections(services)) == 1
    back = await w.transfer(u["tri"], iid, "customer_care", "a broken order after all")
    assert back.extra["bounces"] == 1 and back.extra["transfers"] == 3
    assert [c["label"] for c in await _corrections(services)] == ["marketing", "customer_care"]
    # leaving and coming back again counts again
    await w.transfer(u["cc"], iid, "marketing", "feedback again")
    again = await w.transfer(u["mk"], iid, "customer_care", "no")
    assert again.extra["bounces"] == 3  # marketing once, customer care twice
    await w.set_status(u["cc"], iid, "resolved")
    with pytest.raises(Conflict):
        await w.transfer(u["cc"], iid, "pr", "too late")


async def test_transfer_to_private_team_drops_watchers(services: Any) -> None:
    """Moving an item to HR clears its watchers: HR items are never shared."""
    w, u, iid = await _setup(services)
    async with services.engine.begin() as conn:
        await items.update_item(iid, {"watchers": ["marketing", "pr"]}, conn=conn)
    assert (await w.get(u["mk"], iid)).watchers == ["marketing", "pr"]
    moved = await w.transfer(u["cc"], iid, "hr", "it is about a job application")
    assert moved.watchers == []
    with pytest.raises(NotFound):
        await w.get(u["mk"], iid)


async def test_watchers_read_and_note_but_do_not_act(services: Any) -> None:
    """A watching team sees the item and the notes, can add notes, cannot claim, resolve or transfer."""
    w, u, iid = await _setup(services)
    async with services.engine.begin() as conn:
        await items.update_item(iid, {"watchers": ["pr"]}, conn=conn)
    await w.add_note(u["cc"], iid, "customer is a journalist")
    seen = await w.get(u["pr"], iid)
    assert seen.team == "customer_care"
    await w.add_note(u["pr"], iid, "PR is aware")
    async with services.engine.connect() as conn:
        notes = [e["data"]["text"] for e in await items.events_for(iid, conn=conn) if e["kind"] == "note"]
    assert notes == ["customer is a journalist", "PR is aware"]
    for act in (lambda: w.set_status(u["pr"], iid, "resolved"), lambda: w.transfer(u["pr"], iid, "pr", "mine")):
        with pytest.raises(Forbidden):
            await act()
    with pytest.raises(NotFound):
        await w.add_note(u["hr"], iid, "not watching")
