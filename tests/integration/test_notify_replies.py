"""Replies tell people (SQLite and PostgreSQL, the replies' fake platforms): the author of a reply
the platform refused is told it failed, and a team's lead is told a reply waits for approval,
each in the transaction that records it."""
from __future__ import annotations

from typing import Any

from inbox.storage.repo import people_notify as repo
from inbox.work.item_actions import visible_teams
from tests.integration.test_replies import _admin, world  # noqa: F401  (the fixture)


async def _kinds(svc: Any, user: Any) -> list[tuple[str, int]]:
    async with svc.engine.connect() as conn:
        rows = await repo.list_for(user.id, conn=conn, teams=visible_teams(user), private=svc.settings.private_teams)
    return [(r["kind"], r["item_id"]) for r in rows]


async def test_a_failed_reply_tells_its_author(world: dict[str, Any]) -> None:  # noqa: F811
    w = world
    w["fake"].script["/x/2/tweets"] = [(403, {}, {"title": "Forbidden", "type": "about:blank", "status": 403,
                                                  "detail": "You are not permitted to reply."})]
    await w["replies"].compose(w["users"]["agent"], w["ids"]["x"], "thanks")
    assert await _kinds(w["svc"], w["users"]["agent"]) == []
    assert (await w["sender"].run_once())["failed"] == 1
    assert await _kinds(w["svc"], w["users"]["agent"]) == [("reply_failed", w["ids"]["x"])]


async def test_a_reply_waiting_for_approval_tells_the_teams_lead(world: dict[str, Any]) -> None:  # noqa: F811
    w = world
    iid = w["ids"]["mastodon"]
    await w["work"].transfer(_admin(), iid, "pr", "a journalist is asking")
    row = await w["replies"].compose(w["users"]["pr_agent"], iid, "We will publish a statement today.")
    assert row["status"] == "pending_approval"
    assert await _kinds(w["svc"], w["users"]["pr_lead"]) == [("approval", iid)]
    assert await _kinds(w["svc"], w["users"]["pr_agent"]) == []       # the author is not asked
    assert await _kinds(w["svc"], w["users"]["agent"]) == []          # nor another team
