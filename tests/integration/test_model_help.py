"""'Help the model' on both back ends: the open items the model is least sure of, smallest top-2
margin first, one per near-duplicate group, only of the caller's teams (HR only for HR's leads);
a lead's confirmation or correction is a correction like a transfer's, counted by the accuracy
metric and exported to `model train --include-corrections`; a label of another team moves the item."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from connectors.base import Mention
from inbox.domain.types import Prediction
from inbox.errors import Forbidden, NotFound
from inbox.ops.model_lifecycle import train_rows
from inbox.storage.repo import accounts, items
from inbox.work.item_actions import WorkService
from inbox.work.model_help import uncertain_items
from inbox.work.routing_metrics import compute_metrics
from tests.conftest import open_services

LABELS = ["customer_care", "hr", "marketing", "pr"]
#: first word of a text → (label, its probability, runner-up, its probability)
PROBS = {
    "alpha": ("customer_care", 0.62, "marketing", 0.36),   # margin 0.26
    "bravo": ("customer_care", 0.80, "pr", 0.10),          # margin 0.70
    "charlie": ("customer_care", 0.70, "marketing", 0.28),  # margin 0.42
    "delta": ("customer_care", 0.61, "pr", 0.37),          # margin 0.24, three copies of one post
    "echo": ("hr", 0.63, "customer_care", 0.35),           # margin 0.28, private team
    "foxtrot": ("customer_care", 0.60, "marketing", 0.39),  # margin 0.21, resolved: not open
}
TEXTS = {
    "alpha": "alpha my parcel is late again this week",
    "bravo": "bravo the handle of the teapot came off in my hand",
    "charlie": "charlie still waiting for the money back after three weeks",
    "delta": "delta why does my delivery take so long every single time",
    "echo": "echo the interview feedback from your manager was rude honestly",
    "foxtrot": "foxtrot the app logs me out whenever I open the basket",
}


class MarginClassifier:
    version = "margins-1"
    labels = LABELS

    def predict(self, texts: list[str]) -> list[Prediction]:
        out = []
        for t in texts:
            top, p1, second, p2 = PROBS[t.split()[0]]
            rest = (1 - p1 - p2) / 2
            probs = {lab: p1 if lab == top else p2 if lab == second else rest for lab in LABELS}
            out.append(Prediction(top, p1, probs))
        return out


@pytest.fixture
async def svc(db_url: str, settings_factory: Any, clock: Any) -> AsyncIterator[Any]:
    s = await open_services(settings_factory(db_url), clock=clock, classifier=MarginClassifier())
    yield s
    await s.close()


async def _setup(svc: Any) -> dict[str, Any]:
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        users = {
            "lead": await accounts.add_user("lc", "lead", ["customer_care"], None, conn=conn, now=now),
            "hr_lead": await accounts.add_user("lh", "lead", ["hr"], None, conn=conn, now=now),
            "agent": await accounts.add_user("ag", "agent", ["customer_care"], None, conn=conn, now=now),
            "admin": await accounts.add_user("ad", "admin", [], None, conn=conn, now=now),
        }
    mentions = [Mention(source="rss", platform="rss", external_id=k, language="en", text=t)
                for k, t in TEXTS.items() if k != "delta"]
    mentions += [Mention(source="rss", platform="rss", external_id=f"delta{i}", language="en", text=TEXTS["delta"])
                 for i in range(3)]
    await svc.pipeline.ingest(mentions)
    w = WorkService(svc.engine, svc.settings, svc.clock)
    ids = {}
    async with svc.engine.connect() as conn:
        for it in await items.list_items(None, conn=conn, limit=50):
            ids.setdefault(it.text.split()[0], it.id)
    await w.set_status(users["lead"], ids["foxtrot"], "resolved")
    return {"users": users, "ids": ids, "work": w}


def _words(rows: list[dict[str, Any]]) -> list[str]:
    return [r["text"].split()[0] for r in rows]


async def test_least_sure_first_one_per_cluster_and_only_visible_teams(svc: Any) -> None:
    s = await _setup(svc)
    u = s["users"]
    lead_rows = await uncertain_items(svc.engine, u["lead"])
    assert _words(lead_rows) == ["delta", "alpha", "charlie", "bravo"]
    assert [r["margin"] for r in lead_rows] == sorted(r["margin"] for r in lead_rows)
    assert lead_rows[0]["margin"] == pytest.approx(0.24)
    assert _words(await uncertain_items(svc.engine, u["hr_lead"])) == ["echo"]
    assert _words(await uncertain_items(svc.engine, u["admin"])) == ["delta", "alpha", "echo", "charlie", "bravo"]
    assert _words(await uncertain_items(svc.engine, u["lead"], 2)) == ["delta", "alpha"]
    with pytest.raises(Forbidden):
        await uncertain_items(svc.engine, u["agent"])


async def test_confirm_and_correct_count_like_transfers(svc: Any) -> None:
    s = await _setup(svc)
    u, ids, w = s["users"], s["ids"], s["work"]
    before = (await compute_metrics(svc.engine, svc.settings, svc.clock.now(), timedelta(days=7)))["model_accuracy"]
    delta = (await uncertain_items(svc.engine, u["lead"]))[0]
    svc.clock.advance(timedelta(minutes=1))
    confirmed = await w.set_label(u["lead"], delta["id"], "customer_care", "help the model")
    assert confirmed.team == "customer_care"
    moved = await w.set_label(u["lead"], ids["alpha"], "marketing", "help the model")
    assert moved.team == "marketing"
    with pytest.raises(NotFound):  # HR's item: not even its existence for another team's lead
        await w.set_label(u["lead"], ids["echo"], "customer_care", "help the model")
    with pytest.raises(Forbidden):
        await w.set_label(u["agent"], ids["charlie"], "customer_care", "help the model")

    after = (await compute_metrics(svc.engine, svc.settings, svc.clock.now(), timedelta(days=7)))["model_accuracy"]
    assert after["judged"] == before["judged"] + 2
    assert after["corrected"] == before["corrected"] + 1
    assert after["corrections_by_label"].get("customer_care->marketing") == 1

    async with svc.engine.connect() as conn:
        corrections = await items.corrections(conn=conn)
        history = await items.events_for(ids["alpha"], conn=conn)
        confirmed_history = await items.events_for(delta["id"], conn=conn)
    assert {(c["mention_id"], c["predicted_label"], c["label"]) for c in corrections} == {
        (delta["id"], "customer_care", "customer_care"), (ids["alpha"], "customer_care", "marketing")}
    [transfer] = [e for e in history if e["kind"] == "transfer"]
    [label_event] = [e for e in confirmed_history if e["kind"] == "label"]
    assert label_event["actor"] == "lc" and label_event["data"]["label"] == "customer_care"
    assert not [e for e in confirmed_history if e["kind"] == "transfer"]
    assert transfer["actor"] == "lc" and transfer["data"]["to"] == "marketing"
    rows, described = train_rows([], corrections)
    assert [(r["text"], r["label"]) for r in rows if r.get("source") == "correction"] == [
        (TEXTS["delta"], "customer_care"), (TEXTS["alpha"], "marketing")]
    assert described[-1]["rows"] == 2
    # answered items and the copies of an answered post leave the list (the moved one is another team's now)
    assert _words(await uncertain_items(svc.engine, u["lead"])) == ["charlie", "bravo"]
