"""Two instances on one real PostgreSQL polling the same connectors: the database lease and the
next-poll time mean no source is polled twice in one interval, and nothing is duplicated."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from connectors.config import ConnectorSettings
from connectors.replay import REPLAY_LOG, SAMPLES_DIR, create_replay_app
from inbox.domain.clock import FakeClock
from inbox.ingest.classifier import ClassifierHolder
from inbox.ingest.poll import Poller
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts
from inbox.storage.tables import Mention, QueueItem


async def test_two_instances_poll_each_source_once_per_interval(pg_db_url: str, settings_factory: Any,
                                                                fake_classifier: Any) -> None:
    """Rounds at t0, t0+interval/2 and t0+interval: exactly one poll per connector per interval."""
    clock = FakeClock()
    server = TestServer(create_replay_app(SAMPLES_DIR, clock=clock.now), host="127.0.0.1")
    await server.start_server()
    base = f"http://127.0.0.1:{server.port}"
    conns = [ConnectorSettings.model_validate(c) for c in (
        {"name": "masto", "type": "mastodon", "base_url": f"{base}/mastodon", "query": ["lumetta"],
         "interval": "10m", "allow_private_hosts": True},
        {"name": "hn", "type": "hackernews", "base_url": f"{base}/hackernews", "query": ["lumetta"],
         "interval": "10m", "allow_private_hosts": True})]
    settings = settings_factory(pg_db_url).model_copy(update={"connectors": conns})
    a = await Services.open(settings, clock=clock)
    b = await Services.open(settings, clock=clock)
    try:
        await migrate.upgrade(a.engine)
        async with a.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=clock.now())
        for s in (a, b):
            s.classifier = ClassifierHolder(fake_classifier)
        log = server.app[REPLAY_LOG]
        async with Poller(a) as pa, Poller(b) as pb:
            polled: list[int] = []
            for step in (timedelta(0), timedelta(minutes=5), timedelta(minutes=5, seconds=1)):
                clock.advance(step)
                before = len(log)
                results = await asyncio.gather(*[p.poll(c, due_only=True) for c in conns for p in (pa, pb)])
                polled.append(sum(1 for r in results if not r.get("skipped")))
                assert all(r.get("ok") for r in results if not r.get("skipped")), results
                if polled[-1] == 0:
                    assert len(log) == before  # nobody sent a request
            assert polled == [2, 0, 2]
        async with a.engine.connect() as conn:
            n_m = (await conn.execute(select(func.count()).select_from(Mention.__table__))).scalar_one()
            n_i = (await conn.execute(select(func.count()).select_from(QueueItem.__table__))).scalar_one()
            keys = (await conn.execute(select(func.count(func.distinct(Mention.__table__.c.external_id)))
                                       )).scalar_one()
        assert n_m > 0 and n_m == keys and n_i <= n_m
    finally:
        await a.close()
        await b.close()
        await server.close()
