"""The real `social-inbox` console script with the real default model and encoder: `classify`,
`classify --refined`, `refine` and the second look that `import` gives, each on a copy of a SQLite
database that `social-inbox init` set up (conftest's ``cli_sqlite_url``)."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.integration.test_cli import run


def test_classify_prints_one_json_line_per_text(tmp_path: Path, cli_sqlite_url: Callable[[str], str]) -> None:
    """classify prints label, confidence and probabilities for each text."""
    env = {"INBOX_DATABASE_URL": cli_sqlite_url("c.db"), "INBOX_MODEL_DIR": str(tmp_path / "m")}
    r = run("classify", "Il mio ordine non è arrivato", "We are hiring a barista", env=env)
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == 2
    for o in out:
        assert o["label"] in ("marketing", "customer_care", "hr", "pr")
        assert abs(sum(o["probabilities"].values()) - 1) < 1e-3


def test_classify_refined_and_the_refine_command(tmp_path: Path, cli_sqlite_url: Callable[[str], str]) -> None:
    """`classify --refined` adds the blend's label; `refine --all` gives every imported, model-routed
    item its second look once (the real default model and encoder, on SQLite)."""
    env = {"INBOX_DATABASE_URL": cli_sqlite_url("r.db"), "INBOX_MODEL_DIR": str(tmp_path / "m")}
    r = run("classify", "--refined", "The app logs me out every time I open it", env=env)
    assert r.returncode == 0, r.stderr
    [row] = [json.loads(x) for x in r.stdout.splitlines()]
    assert row["refined"]["label"] in ("marketing", "customer_care", "hr", "pr")
    assert abs(sum(row["refined"]["probabilities"].values()) - 1) < 1e-3
    lines = [json.dumps({"id": f"r{i}", "text": t}) for i, t in enumerate([
        "My order never arrived and nobody answers, please help",
        "We are hiring backend engineers in Milan, apply on our careers page",
        "Acme's CEO resigned after the accounting scandal, shares down 12%",
        "@acme",  # wordless: triage by the word check, not a candidate
    ])]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    r = run("import", "--no-refine", str(tmp_path / "in.jsonl"), env=env)
    assert r.returncode == 0, r.stderr
    assert "refined" not in json.loads(r.stdout.splitlines()[-1])
    r = run("refine", "--all", env=env)
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout.splitlines()[-1])
    # the wordless one is no candidate; the others are rescored, or left as routed when the model was
    # already at least as sure as the head's band (routing_models/refine.py)
    assert done["looked_at"] == 4 and done["rescored"] + done["sure"] == 3 and "skipped" not in done
    again = json.loads(run("refine", "--all", env=env).stdout.splitlines()[-1])
    assert again["looked_at"] == 0


def test_import_gives_its_items_the_refiners_second_look(tmp_path: Path, cli_sqlite_url: Callable[[str], str]
                                                          ) -> None:
    """`import` refines what it brought in before it returns (the real default model and encoder):
    its counts are the routing that `export` shows, and the background job finds nothing left;
    ``[refiner] on_import`` bounds it, the rest is left to the background."""
    env = {"INBOX_DATABASE_URL": cli_sqlite_url("r.db"), "INBOX_MODEL_DIR": str(tmp_path / "m")}
    texts = ["My order never arrived and nobody answers, please help",
             "We are hiring backend engineers in Milan, apply on our careers page",
             "Acme's CEO resigned after the accounting scandal, shares down 12%",
             "Il nuovo spot della campagna Acme e' bellissimo, bravi!",
             "@acme"]  # wordless: triage by the word check, looked at but never re-scored
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"id": f"r{i}", "text": t}) + "\n"
                                               for i, t in enumerate(texts)))
    r = run("import", str(tmp_path / "in.jsonl"), env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["refined"]["looked_at"] == 5 and out["refined"]["left_to_background"] == 0, out
    assert "skipped" not in out["refined"]
    rows = [json.loads(x) for x in run("export", env=env).stdout.splitlines() if x.strip()]
    teams: dict[str, int] = {}
    for row in rows:
        teams[row["team"]] = teams.get(row["team"], 0) + 1
    assert out["teams"] == teams and out["triaged"] == teams.get("triage", 0)
    # each worded item was refined, or left as routed because the model was already at least as sure
    # as the head's band (routing_models/refine.py); the wordless one is neither
    worded = [row for row in rows if not row["route_reason"].startswith("0 word")]
    assert len(worded) == 4, [row["route_reason"] for row in rows]
    assert all(row["route_reason"].startswith("refined: ") or float(row["confidence"]) >= 0.95
               for row in worded), [(row["route_reason"], row["confidence"]) for row in rows]
    assert json.loads(run("refine", "--all", env=env).stdout.splitlines()[-1])["looked_at"] == 0
    # bounded: with on_import = 2 the other three wait for the background job
    env2 = {**env, "INBOX_DATABASE_URL": cli_sqlite_url("r2.db"), "INBOX_REFINER__ON_IMPORT": "2"}
    out2 = json.loads(run("import", str(tmp_path / "in.jsonl"), env=env2).stdout.splitlines()[-1])
    assert (out2["refined"]["looked_at"], out2["refined"]["left_to_background"]) == (2, 3), out2
    assert json.loads(run("refine", "--all", env=env2).stdout.splitlines()[-1])["looked_at"] == 3
