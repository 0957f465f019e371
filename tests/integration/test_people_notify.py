"""Notifications for people on SQLite and PostgreSQL: an assignment, an @name in a note, an SLA
falling due within 15 minutes, a failed reply and a reply waiting for approval each tell the right
person, in the transaction of the change; preferences switch kinds off; HR items never reach a
non-HR user's list or unread count."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from inbox.domain.people_notify import Prefs
from inbox.storage.repo import accounts, items
from inbox.storage.repo import people_notify as repo
from inbox.work import handover, people_notify
from inbox.work.item_actions import WorkService, visible_teams
from tests.integration.test_handover import _setup as handover_setup


async def _setup(svc: Any) -> tuple[WorkService, dict[str, Any], list[int], int]:
    """test_handover's users and items (lea leads customer care; ann, bob agents; hri in HR) plus an HR lead."""
    w, u, care, hr = await handover_setup(svc)
    async with svc.engine.begin() as conn:
        u["hrl"] = await accounts.add_user("hrl", "lead", ["hr"], None, conn=conn, now=svc.clock.now())
    u["lea"] = u["lead"]
    return w, u, care, hr


async def _mine(svc: Any, user: Any) -> tuple[list[dict[str, Any]], int]:
    async with svc.engine.connect() as conn:
        kw = {"teams": visible_teams(user), "private": svc.settings.private_teams}
        return (await repo.list_for(user.id, conn=conn, **kw), await repo.unread_count(user.id, conn=conn, **kw))


async def test_assignment_and_mentions_tell_the_right_people(services: Any) -> None:
    w, u, care, hr = await _setup(services)
    await handover.assign(w, u["lea"], care[0], "ann")
    await handover.assign(w, u["bob"], care[1], "bob")          # taking an item tells nobody
    rows, unread = await _mine(services, u["ann"])
    assert [(r["kind"], r["item_id"], r["actor"]) for r in rows] == [("assigned", care[0], "lea")] and unread == 1
    assert (await _mine(services, u["bob"]))[1] == 0
    # @ann and @BOB are told; @hri (HR only) cannot see a customer-care item; the writer is not told
    await w.add_note(u["lea"], care[0], "@ann @BOB please look; @hri fyi; @lea me; @nobody")
    assert [r["kind"] for r in (await _mine(services, u["ann"]))[0]] == ["mentioned", "assigned"]
    bob = (await _mine(services, u["bob"]))[0]
    assert [(r["kind"], r["data"]["note"][:8]) for r in bob] == [("mentioned", "@ann @BO")]
    assert (await _mine(services, u["hri"]))[1] == 0 and (await _mine(services, u["lea"]))[1] == 0
    # an HR item: a customer-care agent named in its note is not told; HR is
    await w.add_note(u["hrl"], hr, "@ann @hri candidate called back")
    assert (await _mine(services, u["ann"]))[1] == 2
    hri, n = await _mine(services, u["hri"])
    assert n == 1 and hri[0]["item_id"] == hr and hri[0]["team"] == "hr"


async def test_an_item_moved_to_hr_leaves_the_list_and_the_count(services: Any) -> None:
    w, u, care, _ = await _setup(services)
    await handover.assign(w, u["lea"], care[0], "ann")
    await w.add_note(u["lea"], care[1], "@ann see this")
    assert (await _mine(services, u["ann"]))[1] == 2
    await w.transfer(u["lea"], care[1], "hr", "a job application, not an order")
    rows, unread = await _mine(services, u["ann"])
    assert unread == 1 and [r["item_id"] for r in rows] == [care[0]]
    admin = u["lea"].__class__(id=u["ann"].id, name="ann", role="admin", teams=())
    assert (await _mine(services, admin))[1] == 2      # the rows are there; the reader's rule hides them


async def test_preferences_switch_kinds_off_and_read_marks(services: Any) -> None:
    w, u, care, _ = await _setup(services)
    async with services.engine.begin() as conn:
        await repo.set_prefs(u["bob"].id, Prefs(frozenset({"assigned"}), True), conn=conn)
        assert (await repo.get_prefs(u["bob"].id, conn=conn)).browser is True
    await w.add_note(u["lea"], care[0], "@bob ignored by choice")
    await handover.assign(w, u["lea"], care[0], "bob")
    await handover.assign(w, u["lea"], care[1], "bob")
    rows, unread = await _mine(services, u["bob"])
    assert [r["kind"] for r in rows] == ["assigned", "assigned"] and unread == 2
    now = services.clock.now()
    async with services.engine.begin() as conn:
        assert await repo.mark_read(u["ann"].id, [rows[0]["id"]], conn=conn, now=now) == []  # not ann's
        assert await repo.mark_read(u["bob"].id, [rows[0]["id"]], conn=conn, now=now) == [rows[0]["id"]]
    assert (await _mine(services, u["bob"]))[1] == 1
    async with services.engine.begin() as conn:
        assert await repo.mark_all_read(u["bob"].id, conn=conn, now=now) == 1
    assert (await _mine(services, u["bob"]))[1] == 0


async def test_sla_due_soon_once_per_due_time(services: Any) -> None:
    w, u, care, hr = await _setup(services)
    await handover.assign(w, u["lea"], care[0], "ann")
    await handover.assign(w, u["hrl"], hr, "hri")
    start = services.clock.now()
    async with services.engine.begin() as conn:
        for i in (care[0], hr):
            await items.update_item(i, {"first_response_due": start + timedelta(minutes=40)}, conn=conn)
    published: list[list[int]] = []
    assert await people_notify.notify_due_soon(services, publish=published.append) == 0
    services.clock.advance(timedelta(minutes=26))
    assert await people_notify.notify_due_soon(services, publish=published.append) == 2
    assert await people_notify.notify_due_soon(services) == 0          # told once
    assert published == [sorted([care[0], hr])]
    ann = [r for r in (await _mine(services, u["ann"]))[0] if r["kind"] == "sla_due"]
    assert [(r["item_id"], r["data"]["sla"]) for r in ann] == [(care[0], "first_response")]
    hri = [r["item_id"] for r in (await _mine(services, u["hri"]))[0] if r["kind"] == "sla_due"]
    assert hri == [hr]


async def test_reply_failed_and_approval_needed(services: Any) -> None:
    _, u, care, hr = await _setup(services)
    now = services.clock.now()
    async with services.engine.begin() as conn:
        assert await people_notify.on_approval_needed(conn, care[0], "customer_care", 11, "ann", now) == 1
        assert await people_notify.on_approval_needed(conn, care[0], "customer_care", 11, "ann", now) == 0
        assert await people_notify.on_reply_failed(conn, care[0], 11, "ann", "HTTP 403", now) == 1
        # ann's name on an HR item's reply cannot reach her: she may not see it
        assert await people_notify.on_reply_failed(conn, hr, 12, "ann", "HTTP 403", now) == 0
    assert [r["kind"] for r in (await _mine(services, u["lea"]))[0]] == ["approval"]
    assert [r["data"]["error"] for r in (await _mine(services, u["ann"]))[0]] == ["HTTP 403"]


async def test_retention_strips_the_quoted_note(services: Any) -> None:
    """What retention clears of a closed item includes the start of a note quoted by a notification."""
    from inbox.storage.repo import personal_data
    w, u, care, _ = await _setup(services)
    await w.add_note(u["lea"], care[0], "@ann the customer Mario Rossi called from 555-0101")
    assert (await _mine(services, u["ann"]))[0][0]["data"]["note"].startswith("@ann the customer Mario")
    async with services.engine.begin() as conn:
        out = await personal_data.strip_personal_data([care[0]], conn=conn)
    assert out["notified_note"] == 1
    rows, unread = await _mine(services, u["ann"])
    assert unread == 1 and rows[0]["kind"] == "mentioned" and rows[0]["data"] == {}
