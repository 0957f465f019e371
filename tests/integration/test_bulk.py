"""Bulk actions on SQLite and PostgreSQL: each item is checked and audited as the single action;
a refused item (another team's, HR's, already resolved) has its own result and stops nothing else."""
from __future__ import annotations

from typing import Any

from inbox.storage.repo import items
from inbox.work import bulk
from inbox.work.item_actions import WorkService
from tests.integration.work_setup import User, care_queue

_CARE = ["customer_care"]
_USERS: dict[str, User] = {"lead": ("lea", "lead", _CARE, None), "ann": ("ann", "agent", _CARE, 2)}


async def _setup(svc: Any) -> tuple[WorkService, dict[str, Any], list[int], int]:
    return await care_queue(svc, _USERS, care_items=4)


async def test_bulk_resolve_reports_each_item(services: Any) -> None:
    w, u, care, hr = await _setup(services)
    await w.set_status(u["ann"], care[0], "resolved")
    out = await bulk.run(w, u["ann"], [care[0], care[1], hr, care[2], care[1]], "resolve", {})
    assert [(o.id, o.status) for o in out] == [(care[0], 409), (care[1], 200), (hr, 404), (care[2], 200)]
    assert out[2].error == f"no item {hr}" and out[2].item is None
    async with services.engine.connect() as conn:
        assert (await items.get_item(care[1], conn=conn)).status == "resolved"  # type: ignore[union-attr]
        events = await items.events_for(care[2], conn=conn)
        hr_item = await items.get_item(hr, conn=conn)
    assert events[-1]["kind"] == "status" and events[-1]["actor"] == "ann"
    assert hr_item is not None and hr_item.status == "new"


async def test_bulk_assign_respects_capacity_and_transfer_needs_a_team(services: Any) -> None:
    w, u, care, _ = await _setup(services)
    out = await bulk.run(w, u["lead"], care[:3], "assign", {"user": "ann"})
    assert [o.status for o in out] == [200, 200, 409]  # ann holds 2
    out = await bulk.run(w, u["lead"], care[2:4], "transfer", {"team": "marketing", "reason": "product questions"})
    assert [o.status for o in out] == [200, 200] and all(o.item and o.item.team == "marketing" for o in out)
    out = await bulk.run(w, u["ann"], care[:1], "spam", {})
    assert out[0].status == 200 and out[0].item is not None and out[0].item.status == "spam"
