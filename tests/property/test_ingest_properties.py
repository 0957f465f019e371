"""Ingest properties over generated batches (valid, invalid, duplicated, reposts, hostile text) and
generated routing rules: ingesting a batch again, in any order, leaves the database unchanged;
every stored mention has exactly one routing decision and, unless it is a repost or ignored,
exactly one owning queue item in a configured team."""
from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from connectors.base import Mention
from inbox.domain.clock import FakeClock
from inbox.domain.types import Prediction
from inbox.ingest.classifier import ClassifierHolder
from inbox.ops.services import Services
from inbox.settings import LABELS
from inbox.storage.repo._common import T_DEAD, T_DECISION, T_EVENT, T_ITEM, T_MENTION
from tests.conftest import make_settings, pg_or_skip
from tests.property.dbs import ExampleDatabases

TEAMS = ("customer_care", "marketing", "hr", "pr", "triage")
WORDS = ("order", "refund", "hiring", "interview", "love", "price", "ceo", "lawsuit", "urgent", "spam", "acme")


class HashClassifier:
    """Deterministic, but spread over every label and confidence: probabilities from a hash."""

    version = "hash-1"
    labels = list(LABELS)

    def predict(self, texts: list[str]) -> list[Prediction]:
        out = []
        for t in texts:
            h = hashlib.sha256(t.encode("utf-8", "replace")).digest()
            w = [h[i] + 1 for i in range(len(self.labels))]
            probs = {lab: v / sum(w) for lab, v in zip(self.labels, w, strict=True)}
            if h[5] > 128:  # confident half of the time
                top = self.labels[h[6] % len(self.labels)]
                probs = {lab: (0.6 + 0.3 * h[7] / 255 if lab == top else 0.0) for lab in self.labels}
                rest = (1 - probs[top]) / (len(self.labels) - 1)
                probs = {lab: (p if lab == top else rest) for lab, p in probs.items()}
            best = max(probs, key=lambda k: probs[k])
            out.append(Prediction(best, probs[best], probs))
        return out


texts = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    st.sampled_from(["", "   ", "x" * 25_000, "nul\x00byte order", "lone \ud800 surrogate", "URGENT!!! REFUND NOW",
                     "È già la terza volta: ordine sbagliato"]),
)
when = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),  # naive: rejected
)
mentions = st.builds(
    Mention,
    source=st.sampled_from(["s1", "s2", "", "y" * 70]),
    platform=st.just("prop"),
    external_id=st.one_of(st.sampled_from(["a", "b", "c", "d", "", " ", "x" * 600]), st.text(min_size=1, max_size=8)),
    text=texts,
    author_handle=st.one_of(st.none(), st.sampled_from(["@vip", "someone", "a\x00b"])),
    author_followers=st.one_of(st.none(), st.integers(0, 100_000)),
    language=st.sampled_from([None, "en", "it", "EN-us"]),
    created_at=when,
    is_repost=st.booleans(),
    raw=st.one_of(st.none(), st.dictionaries(st.text(max_size=4), st.one_of(st.text(max_size=6), st.integers()),
                                             max_size=3)),
)
batches = st.lists(mentions, max_size=30)


@st.composite
def rules(draw: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(0, 3))):
        rule: dict[str, Any] = {"name": f"r{i}"}
        cond = draw(st.sampled_from(["keywords", "source", "label", "min_confidence", "author"]))
        rule[cond] = {"keywords": draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=2, unique=True)),
                      "source": [draw(st.sampled_from(["s1", "s2"]))],
                      "label": [draw(st.sampled_from(LABELS))],
                      "min_confidence": draw(st.floats(0.3, 0.9)),
                      "author": ["@vip"]}[cond]
        action = draw(st.sampled_from(["route", "spam", "ignore"]))
        if action != "ignore":
            if draw(st.booleans()):
                rule["team"] = draw(st.sampled_from(TEAMS))
            rule["watchers"] = draw(st.lists(st.sampled_from(TEAMS), max_size=2, unique=True))
            if draw(st.booleans()) or (action == "route" and "team" not in rule and not rule["watchers"]):
                rule["priority"] = draw(st.integers(0, 3))
        rule["action"] = action
        rule["stop"] = draw(st.booleans())
        out.append(rule)
    return out


def _norm(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, default=str)
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    return v


async def _snapshot(svc: Services) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    async with svc.engine.connect() as conn:
        for t in (T_MENTION, T_ITEM, T_DECISION, T_EVENT, T_DEAD):
            rows = await conn.execute(select(t).order_by(*t.primary_key.columns))
            out[t.name] = [tuple(_norm(v) for v in r) for r in rows]
    return out


async def _ingest_twice(url: str, batch: list[Mention], again: list[Mention], rule_set: list[dict[str, Any]],
                        tmp: Path) -> tuple[Any, Any, Any, Any]:
    settings = make_settings(url, tmp, rules=rule_set)
    svc = await Services.open(settings, clock=FakeClock())
    try:
        svc.classifier = ClassifierHolder(HashClassifier())
        pipeline = await svc.ready_pipeline()
        first = await pipeline.ingest(batch)
        one = await _snapshot(svc)
        second = await pipeline.ingest(again)
        two = await _snapshot(svc)
    finally:
        await svc.close()
    return first, second, one, two


@pytest.fixture(params=["sqlite", "postgres"])
def example_dbs(request: pytest.FixtureRequest, tmp_path: Path, settings_factory: Any) -> Iterator[ExampleDatabases]:
    if request.param == "sqlite":
        yield ExampleDatabases("sqlite", tmp_path, settings_factory)
        return
    pg_or_skip()
    from tests.conftest import create_pg_database, drop_pg_database, pg_url
    name = asyncio.run(create_pg_database())
    try:
        yield ExampleDatabases("postgres", tmp_path, settings_factory, pg_url(name))
    finally:
        asyncio.run(drop_pg_database(name))


def _valid_rules(rule_set: list[dict[str, Any]], tmp: Path) -> bool:
    try:
        make_settings("sqlite+aiosqlite:///unused.db", tmp, rules=rule_set)
    except Exception as e:  # noqa: BLE001 - ConfigError wraps the validation error
        if isinstance(e, ValidationError) or type(e).__name__ == "ConfigError":
            return False
        raise
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=batches, rule_set=rules(), data=st.data())
def test_ingesting_a_batch_again_in_any_order_changes_nothing(example_dbs: ExampleDatabases, tmp_path: Path,
                                                              batch: list[Mention], rule_set: list[dict[str, Any]],
                                                              data: st.DataObject) -> None:
    """A second ingest of the same batch (permuted) adds, changes and dead-letters nothing."""
    assume(_valid_rules(rule_set, tmp_path))
    again = data.draw(st.permutations(batch))
    first, second, one, two = asyncio.run(_ingest_twice(example_dbs.url(), batch, again, rule_set, tmp_path))
    assert second.ingested == 0 and second.queued == 0
    assert one == two


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=batches, rule_set=rules())
def test_every_mention_has_exactly_one_owning_queue(example_dbs: ExampleDatabases, tmp_path: Path,
                                                    batch: list[Mention], rule_set: list[dict[str, Any]]) -> None:
    """One decision per mention; one item in a configured team unless repost/ignored; owner never a watcher."""
    assume(_valid_rules(rule_set, tmp_path))
    first, _, snap, _ = asyncio.run(_ingest_twice(example_dbs.url(), batch, [], rule_set, tmp_path))
    cols = {t.name: [c.name for c in t.columns] for t in (T_MENTION, T_ITEM, T_DECISION, T_EVENT)}
    m_rows = [dict(zip(cols["mention"], r, strict=True)) for r in snap["mention"]]
    items = {r[0]: dict(zip(cols["queue_item"], r, strict=True)) for r in snap["queue_item"]}
    decisions: dict[int, list[dict[str, Any]]] = {}
    for r in snap["routing_decision"]:
        d = dict(zip(cols["routing_decision"], r, strict=True))
        decisions.setdefault(d["mention_id"], []).append(d)
    routed: dict[int, list[dict[str, Any]]] = {}
    for r in snap["event"]:
        e = dict(zip(cols["event"], r, strict=True))
        if e["kind"] == "routed":
            routed.setdefault(e["item_id"], []).append(e)
    private = {"hr"}
    assert first.ingested == len(m_rows) and first.queued == len(items)
    for m in m_rows:
        ds = decisions.get(m["id"], [])
        assert len(ds) == 1, f"mention {m['id']} has {len(ds)} routing decisions"
        d = ds[0]
        item = items.get(m["id"])
        if m["is_repost"]:
            assert d["action"] == "repost"
        if d["action"] in ("repost", "ignore"):
            assert item is None and d["team"] is None
            continue
        assert item is not None, f"mention {m['id']} ({d['action']}) has no queue item"
        assert item["team"] == d["team"] and item["team"] in TEAMS
        assert item["status"] == ("spam" if d["action"] == "spam" else "new")
        watchers = json.loads(item["watchers"])
        assert watchers == json.loads(d["watchers"])
        assert item["team"] not in watchers and set(watchers) <= set(TEAMS)
        if item["team"] in private:
            assert watchers == []
        assert len(routed.get(m["id"], [])) == 1 and routed[m["id"]][0]["team"] == item["team"]
    assert set(items) <= {m["id"] for m in m_rows}
