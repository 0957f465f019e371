"""Assign and reopen on SQLite and PostgreSQL: a lead hands an item to a named agent of the team
within their capacity (or over it with a reason), an agent takes an item for themself, others are
refused; a resolved item reopens; each change is audited."""
from __future__ import annotations

from typing import Any

import pytest

from inbox.errors import Conflict, Forbidden, Invalid, NotFound
from inbox.storage.repo import items
from inbox.work import handover
from inbox.work.item_actions import WorkService
from tests.integration.work_setup import User, care_queue

_CARE = ["customer_care"]
_USERS: dict[str, User] = {"lead": ("lea", "lead", _CARE, None), "ann": ("ann", "agent", _CARE, 1),
                           "bob": ("bob", "agent", _CARE, None), "hri": ("hri", "agent", ["hr"], None),
                           "mkl": ("mkl", "lead", ["marketing"], None)}


async def _setup(svc: Any) -> tuple[WorkService, dict[str, Any], list[int], int]:
    return await care_queue(svc, _USERS, care_items=3)


async def _events(svc: Any, item_id: int) -> list[dict[str, Any]]:
    async with svc.engine.connect() as conn:
        return await items.events_for(item_id, conn=conn)


async def test_lead_assigns_within_capacity_or_overrides_with_a_reason(services: Any) -> None:
    w, u, care, _ = await _setup(services)
    it = await handover.assign(w, u["lead"], care[0], "ann")
    assert it.assignee == "ann" and it.status == "claimed"
    ev = (await _events(services, care[0]))[-1]
    assert ev["kind"] == "assigned" and ev["actor"] == "lea" and ev["data"]["to"] == "ann"
    with pytest.raises(Conflict, match="capacity"):
        await handover.assign(w, u["lead"], care[1], "ann")
    with pytest.raises(Invalid, match="reason"):
        await handover.assign(w, u["lead"], care[1], "ann", override=True)
    it = await handover.assign(w, u["lead"], care[1], "ann", override=True, reason="she knows this customer")
    assert it.assignee == "ann"
    ev = (await _events(services, care[1]))[-1]
    assert ev["data"]["override"] is True and ev["data"]["reason"] == "she knows this customer"
    # reassign to another agent of the team
    assert (await handover.assign(w, u["lead"], care[1], "bob")).assignee == "bob"


async def test_who_may_assign_whom(services: Any) -> None:
    w, u, care, hr = await _setup(services)
    with pytest.raises(Forbidden):
        await handover.assign(w, u["bob"], care[0], "ann")          # an agent, to someone else
    with pytest.raises(Invalid, match="not an agent"):
        await handover.assign(w, u["lead"], care[0], "hri")         # not in the team
    with pytest.raises(Invalid, match="no active user"):
        await handover.assign(w, u["lead"], care[0], "nobody")
    with pytest.raises(NotFound):
        await handover.assign(w, u["mkl"], care[0], "mkl")          # a lead of another team
    with pytest.raises(NotFound):
        await handover.assign(w, u["lead"], hr, "lea")              # HR is private
    it = await handover.assign(w, u["bob"], care[0], "bob")         # an agent takes it
    assert it.assignee == "bob" and it.extra["lease_expires_at"] is not None
    with pytest.raises(Conflict, match="claimed by someone else"):
        await handover.assign(w, u["ann"], care[0], "ann")


async def test_reopen_a_resolved_item(services: Any) -> None:
    w, u, care, hr = await _setup(services)
    with pytest.raises(Conflict, match="not resolved"):
        await handover.reopen(w, u["bob"], care[0])
    await w.set_status(u["bob"], care[0], "resolved")
    with pytest.raises(Conflict, match="reopen it first"):
        await handover.assign(w, u["lead"], care[0], "ann")
    it = await handover.reopen(w, u["ann"], care[0])
    assert it.status == "new" and it.assignee is None and it.extra["resolved_at"] is None
    assert (await _events(services, care[0]))[-1]["kind"] == "reopened"
    await w.set_status(u["hri"], hr, "resolved")
    with pytest.raises(NotFound):
        await handover.reopen(w, u["bob"], hr)
