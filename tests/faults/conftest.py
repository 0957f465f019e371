"""Fault-injection suite: real `social-inbox` processes SIGKILLed at pause points, PostgreSQL
restarted under running instances, hostile replay servers, SQLite under lock, disk and kill faults.
The sizes here are the CI sizes; ``bench/faults.py`` runs the same scenarios at full size."""
from __future__ import annotations

import os

import pytest

# CI sizes (override to rehearse bigger runs under pytest; bench/faults.py is the full-size runner)
CRASH_KILLS_PG = int(os.environ.get("INBOX_FAULTS_CRASH_KILLS", "8"))
CRASH_KILLS_SQLITE = int(os.environ.get("INBOX_FAULTS_CRASH_KILLS_SQLITE", "4"))
INSTANCES = int(os.environ.get("INBOX_FAULTS_INSTANCES", "3"))
INSTANCE_MENTIONS = int(os.environ.get("INBOX_FAULTS_MENTIONS", "5000"))
PG_RESTARTS = int(os.environ.get("INBOX_FAULTS_PG_RESTARTS", "1"))


@pytest.fixture(scope="session", autouse=True)
def _model_artifact() -> None:
    """Train (or find) the model once for the whole suite, before any test starts its clock."""
    from tests.faults.harness import model_artifact
    model_artifact()
