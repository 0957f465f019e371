"""The model lifecycle through the real console script: a transfer becomes a correction that
`model train --include-corrections` uses; `model evaluate --json` has the contract shape; `model
list` shows versions; `model promote` is gated and switches the active version."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from inbox.ops.services import Services
from inbox.settings import load_settings
from inbox.storage.repo import accounts, items
from inbox.work.item_actions import WorkService
from tests.conftest import ROOT
from tests.integration.test_cli import run


def _last_json(out: str) -> dict:  # type: ignore[type-arg]
    return json.loads([x for x in out.splitlines() if x.startswith("{")][-1])


async def _transfer(url: str) -> None:
    s = load_settings(ROOT / "config" / "inbox.toml", {"database_url": url})
    svc = await Services.open(s)
    try:
        async with svc.engine.begin() as conn:
            user = await accounts.add_user("ann", "agent", ["customer_care", "marketing", "triage", "pr", "hr"], None,
                                           conn=conn, now=svc.clock.now())
            rows = await items.list_items(None, conn=conn)
        w = WorkService(svc.engine, s, svc.clock)
        for it in rows:
            target = "pr" if it.team != "pr" else "marketing"
            await w.transfer(user, it.id, target, "agent correction in a test")
    finally:
        await svc.close()


def test_corrections_train_evaluate_list_promote(tmp_path: Path, cli_sqlite_url: Callable[[str], str]) -> None:
    """Transfers are counted as training rows; evaluate prints the contract JSON; promote is gated."""
    env = {"INBOX_DATABASE_URL": cli_sqlite_url("m.db"), "INBOX_MODEL_DIR": str(tmp_path / "models")}
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps({"id": f"t{i}", "text": t}) for i, t in enumerate([
        "My parcel arrived broken and I want a refund", "Do you have openings for a junior barista?"])) + "\n")
    assert run("import", str(src), env=env).returncode == 0
    asyncio.run(_transfer(env["INBOX_DATABASE_URL"]))

    r = run("model", "train", "--include-corrections", env=env, timeout=900)
    assert r.returncode == 0, r.stderr
    trained = _last_json(r.stdout)
    assert trained["corrections"] == 2
    new_version = trained["version"]

    held = tmp_path / "held.jsonl"
    held.write_text("\n".join(json.dumps(x) for x in [
        {"text": "my order never arrived, help", "label": "customer_care", "lang": "en"},
        {"text": "stiamo assumendo camerieri per l'estate", "label": "hr", "lang": "it"},
        {"text": "shares fell 5% after the CEO resigned", "label": "pr", "lang": "en"},
        {"text": "adoro il nuovo gusto, buonissimo", "label": "marketing", "lang": "it"}]) + "\n")
    r = run("model", "evaluate", "--data", str(held), "--json", env=env)
    assert r.returncode == 0, r.stderr
    ev = _last_json(r.stdout)
    for key in ("n", "accuracy", "macro_f1", "per_class", "per_lang", "confusion", "model_version"):
        assert key in ev
    assert ev["n"] == 4 and set(ev["per_lang"]) == {"en", "it"}
    assert set(ev["confusion"]) == {"labels", "matrix"} and len(ev["confusion"]["matrix"]) == 4
    for lab in ("marketing", "customer_care", "hr", "pr"):
        assert set(ev["per_class"][lab]) >= {"precision", "recall", "f1", "support"}

    versions = [json.loads(x) for x in run("model", "list", env=env).stdout.splitlines() if x.startswith("{")]
    assert {v["version"] for v in versions} >= {new_version} and sum(v["active"] for v in versions) == 1
    # a version trained without --eval still shows its cross-source figure (out-of-fold, by source family)
    [listed] = [v for v in versions if v["version"] == new_version]
    folds = listed["evaluation"]["source_folds"]
    assert folds["n"] >= trained["rows"] and 0.5 < folds["macro_f1"] <= 1 and 0.5 < folds["accuracy"] <= 1
    r = run("model", "promote", new_version, "--data", str(held), "--force", env=env)
    assert r.returncode == 0, r.stderr
    versions = [json.loads(x) for x in run("model", "list", env=env).stdout.splitlines() if x.startswith("{")]
    assert [v["version"] for v in versions if v["active"]] == [new_version]
    r = run("model", "promote", "no-such-version", env=env)
    assert r.returncode == 1 and "no model version" in r.stderr
