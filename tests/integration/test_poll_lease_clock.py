"""The connector lease is judged on the database's clock: instances whose process clocks are off
by more than a lease agree on whose lease is live, on each back end."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from inbox.domain.clock import FakeClock, utcnow
from inbox.storage.db_clock import db_now
from inbox.storage.repo import connector_state
from inbox.storage.repo._common import T_CONN
from tests.conftest import open_services


async def _take(svc: Any) -> bool:
    async with svc.engine.begin() as conn:
        await connector_state.ensure("masto", "mastodon", conn=conn, now=svc.clock.now())
        return await connector_state.try_lease("masto", svc.owner, conn=conn, now=svc.clock.now(),
                                               lease_for=svc.settings.server.poll_lease)


async def _expiry_from_db_now(svc: Any) -> timedelta:
    async with svc.engine.connect() as conn:
        until, now = (await conn.execute(select(T_CONN.c.lease_expires_at, db_now())
                                         .where(T_CONN.c.name == "masto"))).one()
    assert isinstance(until, datetime) and isinstance(now, datetime)
    return until - now  # type: ignore[no-any-return]


async def test_a_skewed_instance_neither_steals_a_live_lease_nor_keeps_an_expired_one(services: Any) -> None:
    lease = services.settings.server.poll_lease
    skew = lease + timedelta(minutes=5)
    behind = [await open_services(services.settings, clock=FakeClock(utcnow() - skew), migrate=False)
              for _ in range(2)]
    ahead = await open_services(services.settings, clock=FakeClock(utcnow() + skew), migrate=False)
    try:
        # an instance running behind takes the lease: it lasts one lease from the database's now,
        # so an instance running ahead does not see it expired
        assert await _take(behind[0])
        assert lease - timedelta(minutes=1) < await _expiry_from_db_now(services) <= lease
        assert not await _take(ahead)
        # an instance running ahead that takes a lease does not keep it longer than a lease
        async with services.engine.begin() as conn:
            await connector_state.release_lease("masto", behind[0].owner, conn=conn)
        assert await _take(ahead)
        assert lease - timedelta(minutes=1) < await _expiry_from_db_now(services) <= lease
        assert not await _take(behind[1])
        # the holder dies and its lease runs out (on the database's clock): an instance running
        # behind takes it over at once rather than waiting for its own clock to catch up
        async with services.engine.begin() as conn:
            await conn.execute(update(T_CONN).where(T_CONN.c.name == "masto")
                               .values(lease_expires_at=db_now(-timedelta(seconds=1))))
        assert await _take(behind[1])
        async with services.engine.connect() as conn:
            assert (await connector_state.get_state("masto", conn=conn) or {})["lease_owner"] == behind[1].owner
    finally:
        for svc in (*behind, ahead):
            await svc.close()


async def test_db_now_is_the_database_clock_on_each_back_end(services: Any) -> None:
    """db_now() reads the server's clock, not the (fake) process clock, and round-trips as aware UTC."""
    async with services.engine.connect() as conn:
        now, later = (await conn.execute(select(db_now(), db_now(timedelta(minutes=5, seconds=0.5))))).one()
    assert abs(now - utcnow()) < timedelta(minutes=1)
    assert abs(services.clock.now() - now) > timedelta(days=1)  # the fake clock is elsewhere
    assert later - now == timedelta(minutes=5, seconds=0.5)
