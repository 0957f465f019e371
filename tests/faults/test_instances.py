"""Several instances on one PostgreSQL: `social-inbox import` processes over overlapping shards are
SIGKILLed at random and restarted, and PostgreSQL itself is restarted under them; afterwards
nothing is lost and nothing is doubled."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_DSN
from tests.faults.conftest import INSTANCE_MENTIONS, INSTANCES, PG_RESTARTS
from tests.faults.harness import pg_cluster
from tests.faults.scenarios import instances_under_fire

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]


async def test_instances_killed_and_postgres_restarted_lose_and_double_nothing(pg_db_url: str,
                                                                               tmp_path: Path) -> None:
    """3 instances, random SIGKILLs, a PostgreSQL restart mid-load: 0 lost, 0 doubled, PostgreSQL up after."""
    pg = pg_cluster(PG_ADMIN_DSN)
    # CI size: kills every 2-6 s rather than 5-15 s, so that a short load still sees several
    report = await instances_under_fire(pg_db_url, tmp_path, mentions=INSTANCE_MENTIONS, instances=INSTANCES,
                                        kill_every=(2.0, 6.0), pg=pg, pg_restarts=PG_RESTARTS, deadline=600)
    assert pg.is_ready(), "PostgreSQL was left down"
    assert report.pg_restarts == PG_RESTARTS, report.events
    assert report.kills >= 2, report.events
    assert {k: report.ledger[k] for k in ("lost", "extra", "doubled", "orphans")} == \
        {"lost": 0, "extra": 0, "doubled": 0, "orphans": 0}, report.as_dict()
    assert report.ledger["mentions"] == report.ledger["items"] == INSTANCE_MENTIONS
