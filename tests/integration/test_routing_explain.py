"""`route explain` on both back ends: the rule that fired with its evidence, or the model version with
probabilities and top features; team, watchers, priority with its reasons (including a later SLA
escalation), SLA due times, transfer history; NotFound for unknown ids; the CLI prints it as JSON."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Mention
from inbox.domain.clock import FakeClock
from inbox.errors import NotFound
from inbox.ingest.classifier import ClassifierHolder
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts, items
from inbox.work import sla_sweep
from inbox.work.item_actions import WorkService
from inbox.work.route_explain import explain_mention
from tests.conftest import ExplainingKeywordClassifier, open_services

ROOT = Path(__file__).resolve().parents[2]
RULES = [{"name": "press", "keywords": ["journalist", "giornalista"], "team": "pr", "priority": 2}]


async def _svc(db_url: str, settings_factory: Any, classifier: Any, clock: FakeClock) -> Services:
    settings = settings_factory(db_url, rules=RULES)
    svc = await open_services(settings, clock=clock, classifier=classifier)
    return svc


async def _ids(svc: Any) -> dict[str, int]:
    async with svc.engine.connect() as conn:
        rows = await items.list_items(None, conn=conn, limit=50)
    return {r.text.split()[0]: r.id for r in rows}


async def test_explain_rule_model_and_history(db_url: str, settings_factory: Any,
                                              clock: FakeClock) -> None:
    """A rule decision shows the rule and its evidence; a model decision its probabilities and features."""
    svc = await _svc(db_url, settings_factory, ExplainingKeywordClassifier(), clock)
    try:
        await svc.pipeline.ingest([
            Mention(source="t", platform="t", external_id="p", language="en", author_handle="@ann",
                    author_followers=500, text="Journalist here: comment on the refund scandal?"),
            Mention(source="t", platform="t", external_id="c", language="en",
                    text="Broken order, I want a refund"),
            Mention(source="t", platform="t", external_id="h", language="en", text="Hiring? job interview?")])
        ids = await _ids(svc)
        press = await explain_mention(svc, ids["Journalist"])
        d = press["decision"]
        assert (d["decided_by"], d["team"], d["action"]) == ("rule", "pr", "route")
        assert d["rules"][0]["name"] == "press" and d["rules"][0]["matched"] == {"keyword": "journalist"}
        assert d["rules"][0]["config"]["team"] == "pr" and d["rules"][0]["in_current_config"] is True
        assert d["model"]["version"] == "fake-1" and d["model"]["top_features"]["available"] is True
        assert press["priority"]["value"] == 2 and any("press" in r for r in press["priority"]["reasons"])
        assert press["mention"]["author"] == "@ann" and press["mention"]["reach"] == 500

        now = svc.clock.now()
        async with svc.engine.begin() as conn:
            ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now)
        w = WorkService(svc.engine, svc.settings, svc.clock)
        await w.transfer(ann, ids["Broken"], "marketing", "feedback, not a case")
        svc.clock.advance(timedelta(days=5))
        await sla_sweep.sweep(svc)
        care = await explain_mention(svc, ids["Broken"])
        m = care["decision"]["model"]
        assert care["decision"]["decided_by"] == "model" and care["decision"]["team"] == "customer_care"
        assert m["label"] == "customer_care" and m["confidence"] == 0.9
        assert list(m["probabilities"])[0] == "customer_care"
        assert m["top_features"]["features"]["customer_care"][:2] == [["w:order", 1.0], ["w:refund", 1.0]]
        assert care["team"] == "marketing"
        assert care["transfers"]["count"] == 1
        assert care["transfers"]["history"][0] | {"at": None} == {"at": None, "actor": "ann", "from": "customer_care",
                                                                   "to": "marketing", "reason": "feedback, not a case"}
        assert care["sla"]["breached"] == {"first_response": False, "resolution": True}  # the transfer was a touch
        assert any("SLA breach" in r for r in care["priority"]["reasons"])
        assert care["sla"]["first_response_due"] is not None
        hr = await explain_mention(svc, ids["Hiring?"])
        assert hr["team"] == "hr" and hr["watchers"] == [] and "private" in hr["watchers_note"]
        json.dumps(care)  # JSON-ready
        with pytest.raises(NotFound):
            await explain_mention(svc, 999_999)
    finally:
        await svc.close()


async def test_explain_says_when_the_model_cannot_explain(services: Any) -> None:
    """With a classifier without explain(), the answer says so instead of inventing features."""
    await services.pipeline.ingest([Mention(source="t", platform="t", external_id="1", language="en",
                                            text="my order is broken")])
    out = await explain_mention(services, (await _ids(services))["my"])
    tf = out["decision"]["model"]["top_features"]
    assert tf["available"] is False and "cannot explain" in tf["why"]


def test_cli_route_explain(tmp_path: Path, sqlite_url: str, fake_classifier: Any) -> None:
    """`social-inbox route explain ID` prints the explanation as JSON; an unknown id fails."""
    import asyncio

    from inbox.settings import load_settings

    async def seed() -> None:
        s = load_settings(ROOT / "config" / "inbox.toml", {"database_url": sqlite_url,
                                                            "model_dir": str(tmp_path / "m")})
        svc = await Services.open(s, clock=FakeClock())
        await migrate.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(s.teams, conn=conn, now=svc.clock.now())
        svc.classifier = ClassifierHolder(fake_classifier)
        await (await svc.ready_pipeline()).ingest([Mention(source="t", platform="t", external_id="1", language="en",
                                                           text="refund my order")])
        await svc.close()
    asyncio.run(seed())
    env = {**os.environ, "INBOX_DATABASE_URL": sqlite_url, "INBOX_MODEL_DIR": str(tmp_path / "m")}
    cmd = [sys.executable, "-m", "inbox.cli", "route", "explain"]
    if not (ROOT / "inbox" / "__main__.py").exists():
        cmd = [sys.executable, "-c", "import sys; from inbox.cli import main; sys.exit(main())", "route", "explain"]
    ok = subprocess.run([*cmd, "1"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["team"] == "customer_care" and out["decision"]["model"]["version"] == "fake-1"
    bad = subprocess.run([*cmd, "4242"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert bad.returncode != 0 and "4242" in (bad.stderr + bad.stdout)
