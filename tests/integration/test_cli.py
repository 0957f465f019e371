"""The real `social-inbox` console script on temporary databases: `init` and the import/export round
trip, one-line errors for a bad config, an unreadable file and an unreachable database, reads under
SQLite's write lock, the password policy. The commands that load the real model are in
test_cli_models.py (a file of their own, so that the two run on two workers)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT

SI = str(Path(sys.executable).parent / "social-inbox")


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: int = 240
        ) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, **(env or {})}
    return subprocess.run([SI, *args], capture_output=True, text=True, env=e, input=stdin, timeout=timeout,
                          cwd=ROOT)


GOOD_BAD = [
    json.dumps({"id": "f1", "text": "My order never arrived and nobody answers, please help", "source": "test"}),
    json.dumps({"id": "f2", "text": "We are hiring backend engineers in Milan, apply on our careers page",
                "source": "test"}),
    "this line is not json",
]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_import_export_round_trip(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """init, import 3 lines (2 good + 1 broken), re-import, export: counts, idempotence, fields, dead letter."""
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db" if backend == "sqlite" else request.getfixturevalue("pg_db_url")
    env = {"INBOX_DATABASE_URL": url, "INBOX_MODEL_DIR": str(tmp_path / "models")}
    r = run("init", env=env)
    assert r.returncode == 0, r.stderr
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(GOOD_BAD) + "\n")
    r = run("import", str(f), env=env)
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout.strip().splitlines()[-1])
    assert (first["read"], first["ingested"], first["duplicates"], first["rejected"]) == (3, 2, 0, 1)
    again = json.loads(run("import", str(f), env=env).stdout.strip().splitlines()[-1])
    assert (again["ingested"], again["duplicates"]) == (0, 2)
    r = run("export", "--format", "jsonl", env=env)
    rows = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert {x["external_id"] for x in rows} == {"f1", "f2"}
    for row in rows:
        for key in ("label", "confidence", "team", "status", "route_reason"):
            assert row[key] not in (None, ""), (key, row)
    by_id = {x["external_id"]: x for x in rows}
    assert by_id["f1"]["team"] == "customer_care" and by_id["f2"]["team"] == "hr"
    dl = [json.loads(x) for x in run("dead-letters", env=env).stdout.splitlines()]
    assert len(dl) == 1 and dl[0]["line_no"] == 3 and dl[0]["raw"] == "this line is not json"
    csv_out = run("export", "--format", "csv", env=env).stdout.splitlines()
    assert csv_out[0].startswith("id,source,external_id,text") and len(csv_out) == 3


def test_bad_config_value_is_one_line_exit_2(tmp_path: Path) -> None:
    """A bad value in the settings file exits 2 with one line naming file, key and problem."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[routing]\nconfidence_threshold = "high"\n')
    r = run("--config", str(cfg), "init")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(cfg) in lines[0] and "routing.confidence_threshold" in lines[0]
    assert "Traceback" not in r.stderr


def test_unreadable_import_file_is_one_line(tmp_path: Path) -> None:
    """A missing import file gives one clear line and a non-zero status."""
    env = {"INBOX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"}
    r = run("import", str(tmp_path / "missing.jsonl"), env=env)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"social-inbox: error: {tmp_path / 'missing.jsonl'}: no such file"]


def test_unreachable_database_is_one_line() -> None:
    """A database nobody listens on gives one clear line and a non-zero status."""
    r = run("--database-url", "postgresql+asyncpg://nobody@127.0.0.1:1/none", "queues", timeout=60)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the database" in lines[0] and "Traceback" not in r.stderr


def test_sqlite_reads_do_not_wait_for_the_write_lock(tmp_path: Path, cli_sqlite_url: Callable[[str], str]) -> None:
    """While another process holds SQLite's write lock (a serve instance's ingest batch), the CLI's
    read commands answer instead of queueing for the lock: the lock is held throughout, so a command
    that waited for it would fail when the 30-s busy timeout ran out. (The subprocess timeout only
    stops a hung command; a loaded machine takes many seconds to start one.)"""
    import sqlite3
    db = tmp_path / "locked.db"
    env = {"INBOX_DATABASE_URL": cli_sqlite_url(db.name), "INBOX_MODEL_DIR": str(tmp_path / "models")}
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(GOOD_BAD) + "\n")
    assert run("import", str(f), env=env).returncode == 0
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE queue_item SET priority = priority")
        for args in (("queues", "--json"), ("export", "--format", "jsonl"), ("dead-letters",), ("model", "list"),
                     ("users", "list"), ("metrics", "--json"), ("route", "explain", "1")):
            r = run(*args, env=env, timeout=120)
            assert r.returncode == 0, (args, r.stderr)
        assert {json.loads(x)["external_id"] for x in run("export", env=env, timeout=120).stdout.splitlines()
                if x.strip()} == {"f1", "f2"}
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_users_add_applies_the_password_policy(tmp_path: Path, cli_sqlite_url: Callable[[str], str]) -> None:
    """users add --password-stdin refuses short and common passwords (an error line saying why) and only
    warns when the password contains the user's name (an operator's initial password)."""
    env = {"INBOX_DATABASE_URL": cli_sqlite_url("pw.db"), "INBOX_MODEL_DIR": str(tmp_path / "models")}
    for weak, why in (("aaaaaaaaaa", "at least 12"), ("password1234", "too common")):
        r = run("users", "add", "carla", "--role", "agent", "--password-stdin", env=env, stdin=weak + "\n")
        assert r.returncode != 0 and why in r.stderr, (r.returncode, r.stderr)
    r = run("users", "add", "carla", "--role", "agent", "--password-stdin", env=env, stdin="pw-carla-123456\n")
    assert r.returncode == 0, r.stderr
    assert "user name" in r.stderr and json.loads(r.stdout)["password"] is True
