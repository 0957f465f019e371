"""The background refiner on both back ends (inbox/ingest/second_look.py): it re-routes new, untouched items that
the model routed when the refined prediction disagrees, records why, recomputes the SLA for the new
team, and never touches what a rule, an agent or the word-count check decided. The model here is the
keyword stand-in with a scripted "refined" opinion; the real blend is tested in routing_models and by
the routing acceptance test."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from connectors.base import Mention
from inbox.domain.types import Prediction
from inbox.ingest.second_look import EncoderSource
from inbox.storage.repo import accounts, items
from inbox.storage.repo import refine_queue as rrepo
from inbox.work.item_actions import WorkService
from tests.conftest import KeywordClassifier, sent_statements


class RefiningKeywordClassifier(KeywordClassifier):
    """Keyword cues at ingest; the refined opinion says "marketing" for feature wishes, else agrees
    with more confidence."""

    refiner = {"format": 1}
    metadata = {"refiner": {"weight": 0.4}}

    def __init__(self) -> None:
        self.refined_calls: list[list[str]] = []

    def predict_refined(self, texts: list[str], encoder: Any) -> list[Prediction]:
        assert encoder is not None
        self.refined_calls.append(list(texts))
        out = []
        for p in self.predict(texts):
            if "feature" in texts[len(out)].lower():
                probs = {"marketing": 0.8, "customer_care": 0.15, "hr": 0.025, "pr": 0.025}
                out.append(Prediction("marketing", 0.8, probs))
            else:
                probs = {k: (0.95 if k == p.label else 0.05 / 3) for k in self.labels}
                out.append(Prediction(p.label, 0.95, probs))
        return out


class ReadyEncoder(EncoderSource):
    async def get(self) -> Any:
        return object()


def _m(i: str, text: str) -> Mention:
    return Mention(source="t", platform="t", external_id=i, language="en", text=text)


async def _setup(services: Any) -> tuple[Any, RefiningKeywordClassifier]:
    model = RefiningKeywordClassifier()
    services.classifier.swap(model)
    refiner = await services.ready_refiner()
    refiner.encoder = ReadyEncoder()
    return refiner, model


async def _item(svc: Any, external_id: str) -> Any:
    async with svc.engine.connect() as conn:
        for team in ("customer_care", "marketing", "triage", "hr", "pr"):
            for it in await items.list_items(team, conn=conn):
                if it.text.startswith(external_id + ":") or it.text == external_id:
                    return it
    raise AssertionError(f"no item {external_id}")


async def test_refiner_reroutes_a_disagreement_and_keeps_the_rest(services: Any, clock: Any) -> None:
    refiner, model = await _setup(services)
    await services.pipeline.ingest([
        _m("1", "a: my order is broken, and there is no feature to track it"),  # care at ingest, marketing refined
        _m("2", "b: refund please, the order never came"),                     # care, confirmed
        _m("3", "@acme"),                                                       # wordless: triage, not the model's
    ])
    before = await _item(services, "a")
    assert before.team == "customer_care"
    clock.advance(timedelta(minutes=10))
    res = await refiner.run_once()
    assert (res.looked_at, res.rescored, res.rerouted) == (3, 2, 1)
    assert sorted(len(c) for c in model.refined_calls) == [2]  # the wordless one was never scored
    moved = await _item(services, "a")
    assert (moved.team, moved.label, moved.status) == ("marketing", "marketing", "new")
    # the SLA restarts from the item's arrival with the marketing targets (4h first response)
    assert moved.first_response_due - before.first_response_due == timedelta(hours=3)
    kept = await _item(services, "b")
    assert (kept.team, kept.confidence) == ("customer_care", 0.95)
    async with services.engine.connect() as conn:
        events = await items.events_for(moved.id, conn=conn)
        decision = await items.decision_for(moved.id, conn=conn)
        kept_decision = await items.decision_for(kept.id, conn=conn)
        wordless = await items.decision_for(3, conn=conn)
    [ev] = [e for e in events if e["kind"] == "rerouted"]
    assert (ev["actor"], ev["data"]["from"], ev["data"]["to"], ev["data"]["first_label"]) == (
        "refiner", "customer_care", "marketing", "customer_care")
    assert decision["reason"].startswith("refined: model fake-1: marketing")
    first = decision["explanation"]["refined"]["first"]
    assert (first["team"], first["label"], first["confidence"]) == ("customer_care", "customer_care", 0.9)
    assert first["reason"].startswith("model fake-1: customer_care")
    # the decision is rewritten in place: still one routing decision per mention
    from sqlalchemy import func, select

    from inbox.storage.repo._common import T_DECISION
    async with services.engine.connect() as conn:
        per_mention = (await conn.execute(select(T_DECISION.c.mention_id, func.count())
                                          .group_by(T_DECISION.c.mention_id))).all()
    assert sorted(n for _, n in per_mention) == [1, 1, 1]
    assert kept_decision["reason"].startswith("refined: ") and kept_decision["confidence"] == 0.95
    assert not wordless["reason"].startswith("refined")
    # managers see it apart from people's transfers; `route explain` shows the first routing
    from inbox.work.route_explain import explain_mention
    from inbox.work.routing_metrics import compute_metrics
    m = await compute_metrics(services.engine, services.settings, clock.now(), timedelta(days=1))
    assert m["refiner"] == {"rerouted": 1, "rerouted_to": {"marketing": 1}}
    assert m["transfers"].get("marketing", {}).get("transferred", 0) == 0
    explained = await explain_mention(services, moved.id)
    assert explained["decision"]["refined"]["first"]["team"] == "customer_care"
    assert "rerouted" in [h["kind"] for h in explained["history"]]
    # each item is looked at once
    again = await refiner.run_once()
    assert (again.looked_at, again.rescored) == (0, 0)


async def test_refiner_leaves_claimed_and_transferred_items_alone(services: Any) -> None:
    refiner, _ = await _setup(services)
    now = services.clock.now()
    async with services.engine.begin() as conn:
        agent = await accounts.add_user("cc", "agent", ["customer_care"], None, conn=conn, now=now)
    await services.pipeline.ingest([_m("1", "a: my order is broken, no feature to track it"),
                                    _m("2", "b: broken order, and a feature request too")])
    work = WorkService(services.engine, services.settings, services.clock)
    claimed = await work.claim_next(agent, "customer_care")
    assert claimed is not None
    other = "b" if claimed.text.startswith("a") else "a"
    res = await refiner.run_once()
    assert (res.looked_at, res.rescored) == (2, 1)  # the claimed one is taken and marked, never scored
    assert (await work.get(agent, claimed.id)).team == "customer_care"
    assert (await _item(services, other)).team == "marketing"


async def test_a_claim_between_take_and_apply_wins(services: Any) -> None:
    """The refiner writes only if nobody touched the item after it was taken."""
    await _setup(services)
    now = services.clock.now()
    async with services.engine.begin() as conn:
        agent = await accounts.add_user("cc", "agent", ["customer_care"], None, conn=conn, now=now)
    await services.pipeline.ingest([_m("1", "a: my order is broken, no feature to track it")])
    async with services.engine.begin() as conn:
        [taken] = await rrepo.take(10, now, conn=conn)
    work = WorkService(services.engine, services.settings, services.clock)
    assert (await work.claim_next(agent, "customer_care")).id == taken
    async with services.engine.begin() as conn:
        assert not await rrepo.apply(taken, {"team": "marketing", "refined_at": now}, conn=conn)
    assert (await work.get(agent, taken)).team == "customer_care"


async def test_without_a_refiner_head_nothing_is_marked(services: Any) -> None:
    refiner = await services.ready_refiner()  # the plain keyword model has no head
    refiner.encoder = ReadyEncoder()
    await services.pipeline.ingest([_m("1", "a: my order is broken")])
    res = await refiner.run_once()
    assert res.looked_at == 0 and "no refiner head" in (res.skipped or "")
    async with services.engine.begin() as conn:
        assert await rrepo.take(10, services.clock.now(), conn=conn) != []  # still a candidate for a later model


async def test_a_missing_encoder_is_reported_not_raised(services: Any, tmp_path: Any) -> None:
    refiner, _ = await _setup(services)
    refiner.encoder = EncoderSource(str(tmp_path / "no-encoder-here"))
    await services.pipeline.ingest([_m("1", "a: my order is broken")])
    res = await refiner.run_once()
    assert res.looked_at == 0 and "encoder unavailable" in (res.skipped or "")
    assert "missing" in (refiner.encoder.error or "")


async def test_refine_items_looks_only_at_the_given_items_up_to_the_limit(services: Any) -> None:
    """What `import` runs on what it brought in: only those ids, at most ``limit`` of them (the rest is
    the background job's), every core; the moves are reported so that the import can count teams."""
    refiner, model = await _setup(services)
    res = await services.pipeline.ingest([_m(str(i), f"x{i}: broken order, and a feature request too")
                                          for i in range(5)])
    ids = sorted(res.item_ids)
    got = await refiner.refine_items(ids[1:], limit=3)
    assert (got.looked_at, got.rescored, got.rerouted, got.skipped) == (3, 3, 3, None)
    assert got.moves == [("customer_care", "marketing")] * 3
    assert sorted(got.item_ids) == ids[1:4]
    assert sum(len(c) for c in model.refined_calls) == 3
    async with services.engine.connect() as conn:
        teams = {i: (await items.decision_for(i, conn=conn))["team"] for i in ids}
    assert [teams[i] for i in ids] == ["customer_care", "marketing", "marketing", "marketing", "customer_care"]
    # the first and the last were left to the background job, which still finds them
    rest = await refiner.run_once()
    assert rest.looked_at == 2 and sorted(rest.item_ids) == [ids[0], ids[4]]
    assert (await refiner.refine_items(ids, limit=10)).looked_at == 0


async def test_refine_items_reports_why_it_skipped(services: Any) -> None:
    refiner = await services.ready_refiner()  # the plain keyword model has no head
    refiner.encoder = ReadyEncoder()
    res = await services.pipeline.ingest([_m("1", "a: my order is broken")])
    got = await refiner.refine_items(res.item_ids, limit=10)
    assert got.looked_at == 0 and "no refiner head" in (got.skipped or "")


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_instances_take_disjoint_items_on_postgresql(services: Any) -> None:
    """SKIP LOCKED: concurrent takers never get the same item, and together they take them all."""
    await services.pipeline.ingest([_m(str(i), f"order {i} is broken") for i in range(60)])
    now = services.clock.now()

    async def take() -> list[int]:
        got: list[int] = []
        while True:
            async with services.engine.begin() as conn:
                ids = await rrepo.take(7, now, conn=conn)
            if not ids:
                return got
            got += ids
            await asyncio.sleep(0)

    a, b = await asyncio.gather(take(), take())
    assert not set(a) & set(b)
    assert len(a) + len(b) == 60


async def _plan(services: Any, among: list[int] | None) -> str:
    """The plan of the statement ``rrepo.take`` really sends (captured, then EXPLAINed and rolled back)."""
    with sent_statements(services.engine, "UPDATE") as sent:
        async with services.engine.connect() as conn:
            await rrepo.take(32, services.clock.now(), conn=conn, among=among)
            await conn.rollback()
    [(statement, parameters)] = sent
    async with services.engine.connect() as conn:
        if services.engine.dialect.name == "postgresql":
            await conn.exec_driver_sql("SET enable_seqscan = off")
            return "\n".join(r[0] for r in await conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        return "\n".join(str(r[-1]) for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                          parameters))


async def test_taking_walks_the_partial_index(services: Any) -> None:
    """The take query reads ix_queue_item_refine (refined items are not in it) on both back ends, so a
    large refined backlog costs nothing per run; on SQLite an import's take looks its items up by
    primary key (PostgreSQL's plan, on 20,000 items never analyzed: test_pg_batch_plans)."""
    await services.pipeline.ingest([_m(str(i), f"order {i} is broken") for i in range(50)])
    plan = await _plan(services, among=None)
    assert "ix_queue_item_refine" in plan, plan
    assert "TEMP B-TREE" not in plan  # SQLite: read in index order, no sort
    if services.engine.dialect.name == "sqlite":  # PostgreSQL, on a realistic table: test_pg_batch_plans
        plan = await _plan(services, among=[3, 5, 7])
        assert "ix_queue_item_refine" not in plan and "PRIMARY KEY" in plan, plan


async def test_items_the_model_was_sure_of_keep_their_routing_unscored(services: Any, clock: Any) -> None:
    """At or above the head's band the blend changes no label (routing_models/refine.py): such items are
    marked looked at, never embedded, and keep their routing; the others below it are refined."""
    refiner, model = await _setup(services)
    model.refiner = {"format": 1, "band": 0.9}  # the keyword model's cue confidence is exactly 0.9
    await services.pipeline.ingest([_m("1", "a: my order is broken, and there is no feature to track it")])
    clock.advance(timedelta(minutes=10))
    res = await refiner.run_once()
    assert (res.looked_at, res.sure, res.rescored, res.rerouted) == (1, 1, 0, 0)
    assert model.refined_calls == []
    assert (await _item(services, "a")).team == "customer_care"
    model.refiner = {"format": 1, "band": 0.91}
    await services.pipeline.ingest([_m("2", "b: my order is broken, and there is no feature to track it")])
    res = await refiner.run_once()
    assert (res.looked_at, res.sure, res.rescored, res.rerouted) == (1, 0, 1, 1)
    assert (await _item(services, "b")).team == "marketing"
