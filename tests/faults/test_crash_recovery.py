"""Crash recovery: `serve` instances ingesting from the replay server are SIGKILLed during poll,
classify, commit and claim (and at random moments); afterwards every source mention is stored
exactly once, no queue item is doubled, and every item a killed instance held comes back."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import CRASH_KILLS_PG, CRASH_KILLS_SQLITE
from tests.faults.scenarios import CLAIM_POINTS, POLL_POINTS, CrashReport, crash_recovery

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _judge(report: CrashReport, kills: int) -> None:
    assert report.unreached == [], report.unreached
    assert report.total_kills == kills, report.kills
    assert report.rollback_violations == []
    assert report.expected >= 40, report.as_dict()
    assert {k: report.ledger[k] for k in ("lost", "extra", "doubled", "orphans")} == \
        {"lost": 0, "extra": 0, "doubled": 0, "orphans": 0}, report.as_dict()
    for check in report.claim_checks:
        assert check.reclaimed, f"item {check.item_id} held by a killed instance was never claimable again"
        assert check.returned_by_expiry in (None, True), f"the lease-expiry job kept item {check.item_id}"


@pytest.mark.postgres
async def test_sigkill_at_every_stage_on_postgres_loses_and_doubles_nothing(pg_db_url: str, tmp_path: Path) -> None:
    """Kills at poll, classify, commit, claim, after a claim and at random: exactly once, held items return."""
    report = await crash_recovery(pg_db_url, tmp_path, kills=CRASH_KILLS_PG, seed=8)
    _judge(report, CRASH_KILLS_PG)
    if CRASH_KILLS_PG >= len(POLL_POINTS + CLAIM_POINTS) + 1:
        assert report.claim_checks, "no claim was held by a killed instance"


async def test_sigkill_mid_ingest_on_sqlite_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """Kills at poll, classify, commit and claim on a SQLite file: exactly once afterwards."""
    report = await crash_recovery(f"sqlite+aiosqlite:///{tmp_path}/crash.db", tmp_path, kills=CRASH_KILLS_SQLITE,
                                  seed=4)
    _judge(report, CRASH_KILLS_SQLITE)
