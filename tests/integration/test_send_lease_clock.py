"""The senders' leases (notification outbox, reply outbox, digest runs) are taken and judged on the
database's clock, on each back end: an instance whose process clock runs a day ahead does not take
over a live lease, and an expired one is taken over whatever the taker's clock says. Scheduling
(when a row is due) stays on the service's clock."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from connectors.base import Mention
from inbox.domain.clock import utcnow
from inbox.storage.db_clock import db_now
from inbox.storage.repo import digests, notification_outbox, replies
from inbox.storage.repo._common import T_DIGEST_RUN, T_MENTION, T_NOTIF, T_REPLY
from inbox.storage.tables import ReplyStatus

LEASE = timedelta(minutes=2)
AHEAD = timedelta(days=1)  # far past any lease: on the process clock every lease would look expired


async def _expire(svc: Any, table: Any) -> None:
    """The holder died and its lease ran out, on the database's clock."""
    async with svc.engine.begin() as conn:
        await conn.execute(update(table).values(lease_expires_at=db_now(-timedelta(seconds=1))))


async def test_a_notification_lease_is_judged_on_the_database_clock(services: Any) -> None:
    now = utcnow()
    async with services.engine.begin() as conn:
        await notification_outbox.enqueue([{"dedupe_key": "k1", "kind": "high_priority", "channel": "webhook",
                                            "target": "http://127.0.0.1:9/hook", "payload": {}, "status": "pending",
                                            "next_attempt_at": now, "created_at": now, "log": []}], conn=conn)
        taken = await notification_outbox.claim_due(conn=conn, now=now, owner="a", lease_for=LEASE)
    assert [r["lease_owner"] for r in taken] == ["a"]
    async with services.engine.begin() as conn:
        assert await notification_outbox.claim_due(conn=conn, now=now + AHEAD, owner="b", lease_for=LEASE) == []
    await _expire(services, T_NOTIF)
    async with services.engine.begin() as conn:
        again = await notification_outbox.claim_due(conn=conn, now=now - AHEAD, owner="b", lease_for=LEASE)
    assert [(r["lease_owner"], r["attempts"]) for r in again] == [("b", 2)]
    assert LEASE - timedelta(minutes=1) < again[0]["lease_expires_at"] - utcnow() <= LEASE


async def test_a_digest_run_lease_is_judged_on_the_database_clock(services: Any) -> None:
    now = utcnow()
    start, end = now - timedelta(days=1), now
    async with services.engine.begin() as conn:
        first = await digests.claim_run("leads", start, end, conn=conn, now=now, lease_for=LEASE)
    assert first is not None and first["attempts"] == 1
    assert LEASE - timedelta(minutes=1) < first["lease_expires_at"] - utcnow() <= LEASE
    async with services.engine.begin() as conn:
        assert await digests.claim_run("leads", start, end, conn=conn, now=now + AHEAD, lease_for=LEASE) is None
    await _expire(services, T_DIGEST_RUN)
    async with services.engine.begin() as conn:
        again = await digests.claim_run("leads", start, end, conn=conn, now=now - AHEAD, lease_for=LEASE)
    assert again is not None and again["attempts"] == 2


async def _reply(svc: Any) -> int:
    await svc.pipeline.ingest([Mention(source="t", platform="t", external_id="r1", language="en",
                                       text="refund for my broken order please")])
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        mid = (await conn.execute(T_MENTION.select().with_only_columns(T_MENTION.c.id))).scalar_one()
        row = await replies.insert_reply({"item_id": mid, "connector": "t", "platform": "t", "parent_external_id": "r1",
                                          "text": "on its way", "status": ReplyStatus.QUEUED, "author": "ann",
                                          "idempotency_key": "idem-1", "next_attempt_at": now, "created_at": now,
                                          "updated_at": now}, conn=conn)
    return int(row["id"])


async def test_a_reply_lease_is_judged_on_the_database_clock_and_a_look_on_the_service_clock(services: Any) -> None:
    reply_id = await _reply(services)
    now = services.clock.now()
    async with services.engine.begin() as conn:
        taken = await replies.claim_due(conn=conn, now=now, owner="a", lease_for=LEASE)
    assert [(r["id"], r["lease_owner"]) for r in taken] == [(reply_id, "a")]
    async with services.engine.begin() as conn:
        assert await replies.claim_due(conn=conn, now=now + AHEAD, owner="b", lease_for=LEASE) == []
    await _expire(services, T_REPLY)
    async with services.engine.begin() as conn:
        again = await replies.claim_due(conn=conn, now=now - AHEAD, owner="b", lease_for=LEASE)
    assert [(r["lease_owner"], r["in_doubt"]) for r in again] == [("b", True)]
    # the sender could not tell whether its request went out: it gives the row up with a look
    # scheduled on the service's clock, which the (fake) clock reaching that time makes due
    look_at = now + timedelta(minutes=10)
    async with services.engine.begin() as conn:
        assert await replies.finish_many({reply_id: {"status": ReplyStatus.SENDING, "lease_owner": None,
                                                     "lease_expires_at": None, "next_attempt_at": look_at}},
                                         "b", conn=conn) == [reply_id]
    async with services.engine.begin() as conn:
        assert await replies.claim_due(conn=conn, now=look_at - timedelta(seconds=1), owner="c", lease_for=LEASE) == []
        later = await replies.claim_due(conn=conn, now=look_at, owner="c", lease_for=LEASE)
    assert [(r["lease_owner"], r["in_doubt"]) for r in later] == [("c", True)]
