"""The governance commands through the real console script: a deactivated user is reactivated by
`users add` (no traceback), each change is in `social-inbox audit`; `privacy export|erase` and
`retention run` on a SQLite file."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.integration.test_cli import run


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(x) for x in out.splitlines() if x.strip()]


def test_users_reactivated_and_audited_privacy_and_retention(tmp_path: Path, cli_sqlite_url: Callable[[str], str]
                                                             ) -> None:
    env = {"INBOX_DATABASE_URL": cli_sqlite_url("g.db"), "INBOX_MODEL_DIR": str(tmp_path / "m")}
    r = run("users", "add", "zoe", "--role", "agent", "--team", "customer_care", env=env)
    assert r.returncode == 0, r.stderr
    r = run("users", "deactivate", "zoe", env=env)
    assert r.returncode == 0 and _lines(r.stdout)[-1]["active"] is False, r.stderr
    r = run("users", "add", "zoe", "--role", "lead", "--team", "customer_care", env=env)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert _lines(r.stdout)[-1]["reactivated"] is True
    assert [u["name"] for u in _lines(run("users", "list", env=env).stdout)] == ["zoe"]
    kinds = [e["kind"] for e in _lines(run("audit", "--actor", "cli", env=env).stdout)]
    assert kinds == ["user_changed", "user_deactivated", "user_added"]
    changed = _lines(run("audit", "--kind", "user_changed", env=env).stdout)[0]
    assert changed["data"]["from"]["active"] is False and changed["data"]["to"]["role"] == "lead"
    assert _lines(run("audit", "--kind", "user_changed", "--until", "2000-01-01", env=env).stdout) == []

    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"id": "p1", "source": "s", "author": "@pia", "text": "my order is broken, refund"}) + "\n"
                 + json.dumps({"id": "p2", "source": "s", "author": "@ugo", "text": "my order is late"}) + "\n")
    assert run("import", str(f), env=env).returncode == 0
    doc = json.loads(run("privacy", "export", "--author", "pia", env=env).stdout)
    assert [m["external_id"] for m in doc["mentions"]] == ["p1"]
    r = run("privacy", "erase", "--author", "@pia", env=env)
    assert r.returncode == 0 and _lines(r.stdout)[-1]["mentions"] == 1, r.stderr
    assert json.loads(run("privacy", "export", "--author", "pia", env=env).stdout)["mentions"] == []
    assert json.loads(run("import", str(f), env=env).stdout.splitlines()[-1])["ingested"] == 0
    r = run("retention", "run", env=env)
    assert r.returncode == 0 and "stripped" in _lines(r.stdout)[-1], r.stderr
    r = run("privacy", "erase", "--author", "  ", env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
