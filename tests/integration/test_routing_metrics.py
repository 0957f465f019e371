"""Manager metrics on both back ends: volume, time to first touch and resolution, SLA met %, backlog,
transfers and bounces per label, accuracy from corrections, crises; and every metrics query has an
index path (no full-table scan of the big tables)."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from connectors.base import Mention
from inbox.storage.repo import accounts
from inbox.storage.repo import metric_reads as mrepo
from inbox.work.item_actions import WorkService
from inbox.work.routing_metrics import compute_metrics, percentile

BIG = ("queue_item", "mention", "event", "correction", "notification", "routing_decision")


async def _scenario(svc: Any) -> dict[str, Any]:
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now, capacity=50)
        mk = await accounts.add_user("mk", "agent", ["marketing"], None, conn=conn, now=now)
    await svc.pipeline.ingest(
        [Mention(source="mastodon", platform="mastodon", external_id=f"c{i}", language="en",
                 text=f"my order {i} is broken, refund") for i in range(4)]
        + [Mention(source="rss", platform="rss", external_id="m1", language="en", text="love the new price offer"),
           Mention(source="rss", platform="rss", external_id="x1", language="en", text="zzz qqq")])
    w = WorkService(svc.engine, svc.settings, svc.clock)
    svc.clock.advance(timedelta(minutes=10))
    a = await w.claim_next(ann, "customer_care")          # touched after 10 min
    svc.clock.advance(timedelta(minutes=20))
    await w.set_status(ann, a.id, "resolved")              # resolved after 30 min
    b = await w.claim_next(ann, "customer_care")          # touched after 30 min
    await w.set_status(ann, b.id, "resolved")
    svc.clock.advance(timedelta(minutes=50))
    c = await w.claim_next(ann, "customer_care")          # touched after 80 min: first response missed (1h)
    await w.transfer(ann, c.id, "marketing", "product feedback")
    await w.transfer(mk, c.id, "customer_care", "no, a broken order")  # bounced back
    return {"ann": ann}


async def test_metrics_figures(services: Any) -> None:
    """The scenario's numbers come out of compute_metrics as expected."""
    await _scenario(services)
    m = await compute_metrics(services.engine, services.settings, services.clock.now(), timedelta(days=7))
    assert m["volume"]["total"] == 6
    assert m["volume"]["by_team"] == {"customer_care": 4, "marketing": 1, "triage": 1}
    assert m["volume"]["by_source"] == {"mastodon": 4, "rss": 2}
    assert m["volume"]["by_label"]["customer_care"] == 5 and m["volume"]["by_label"]["marketing"] == 1
    assert sum(m["volume"]["by_day"][next(iter(m["volume"]["by_day"]))].values()) == 6
    ttft = m["time_to_first_touch"]
    assert ttft["n"] == 3 and ttft["median_seconds"] == 1800 and ttft["p90_seconds"] == 4800
    assert m["time_to_resolve"]["n"] == 2 and m["time_to_resolve"]["median_seconds"] == 1800
    sla = m["sla"]
    # customer care (1h): two touched in time; the transferred one restarted its SLA in each team and
    # was touched before the new due time; one untouched and overdue. Triage and marketing: not yet due.
    assert (sla["first_response_met"], sla["first_response_missed"], sla["met_pct"]) == (3, 1, 75.0)
    assert m["backlog"]["customer_care"]["open"] == 2 and m["backlog"]["customer_care"]["oldest_age_seconds"] == 4800
    assert m["transfers"]["customer_care"] == {"items": 5, "transferred": 1, "transfer_rate": 0.2, "transfers": 2,
                                               "bounces": 1}
    acc = m["model_accuracy"]
    assert (acc["judged"], acc["corrected"]) == (3, 1) and acc["accuracy"] == round(2 / 3, 4)
    assert acc["corrections_by_label"] == {"customer_care->marketing": 1, "customer_care->customer_care": 1}
    assert m["crises"]["open"] == 0 and m["crises"]["recent"] == []
    only = await compute_metrics(services.engine, services.settings, services.clock.now(), timedelta(days=7),
                                 team="marketing")
    assert only["volume"]["by_team"] == {"marketing": 1}


def test_percentile_nearest_rank() -> None:
    """Median and p90 use the nearest-rank definition."""
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([float(i) for i in range(1, 11)], 50) == 5.0
    assert percentile([float(i) for i in range(1, 11)], 90) == 9.0


async def test_every_metrics_query_has_an_index_path(services: Any) -> None:
    """EXPLAIN of each query: no sequential scan of a big table even with seq scans discouraged (PostgreSQL),
    no plain SCAN of one (SQLite)."""
    await _scenario(services)
    now = services.clock.now()
    async with services.engine.connect() as conn:
        pg = conn.dialect.name == "postgresql"
        if pg:
            await conn.exec_driver_sql("SET enable_seqscan = off")
        for name, stmt in mrepo.statements(conn, now - timedelta(days=7), now, now).items():
            compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
            params = tuple(compiled.params[k] for k in compiled.positiontup or [])
            if pg:
                plan = "\n".join(r[0] for r in await conn.exec_driver_sql("EXPLAIN " + str(compiled), params))
                scans = re.findall(r"Seq Scan on (\w+)", plan)
            else:
                params = tuple(p.replace(tzinfo=None).isoformat(" ") if hasattr(p, "tzinfo") and p.tzinfo else p
                               for p in params)
                plan = "\n".join(str(r[-1]) for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                                                                 params))
                scans = re.findall(r"\bSCAN (\w+)\b(?! USING)", plan)
            assert not [t for t in scans if t in BIG], f"{name}: full scan in\n{plan}"


async def test_drift_alarm_from_a_weeks_corrections(services: Any) -> None:
    """60 judged items of the last week, 10 of them corrected by a transfer (83%): an alarm against an
    active model evaluated at 95%, none against one evaluated at 85%; older items don't count."""
    from inbox.storage.repo import model_versions

    svc = services
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now, capacity=100)
        for version, acc in (("promised-95", 0.95), ("promised-85", 0.85)):
            await model_versions.register(version, "/nowhere", {"evaluation": {"dev_crosssource": {"accuracy": acc}}},
                                          conn=conn, now=now)
        await model_versions.promote("promised-95", conn=conn, now=now)
    await svc.pipeline.ingest([Mention(source="t", platform="t", external_id=f"old{i}", language="en",
                                       text=f"my order {i} is broken, refund") for i in range(20)])
    w = WorkService(svc.engine, svc.settings, svc.clock)
    for _ in range(20):  # corrected, but eight days ago
        item = await w.claim_next(ann, "customer_care")
        await w.transfer(ann, item.id, "marketing", "not a case")
    svc.clock.advance(timedelta(days=8))
    await svc.pipeline.ingest([Mention(source="t", platform="t", external_id=f"c{i}", language="en",
                                       text=f"my parcel {i} arrived broken, refund please") for i in range(60)])
    for i in range(60):
        item = await w.claim_next(ann, "customer_care")
        if i < 10:
            await w.transfer(ann, item.id, "marketing", "product feedback")
        else:
            await w.set_status(ann, item.id, "resolved")
    m = await compute_metrics(svc.engine, svc.settings, svc.clock.now(), timedelta(days=30))
    drift = m["model_accuracy"]["drift"]
    assert (drift["judged"], drift["corrected"], drift["accuracy"]) == (60, 10, 0.8333)
    assert (drift["evaluation"], drift["evaluation_accuracy"], drift["threshold"], drift["alarm"]) == (
        "dev_crosssource", 0.95, 0.9, True)
    assert m["model_accuracy"]["judged"] == 80  # the period's own figure still counts the old items
    async with svc.engine.begin() as conn:
        await model_versions.promote("promised-85", conn=conn, now=svc.clock.now())
    m = await compute_metrics(svc.engine, svc.settings, svc.clock.now(), timedelta(days=30))
    assert m["model_accuracy"]["drift"]["alarm"] is False


async def test_a_past_range_leaves_out_what_came_after_it(services: Any) -> None:
    """A range that ends before the corrections and crises counts none of them (the dashboard's
    custom range and its previous period)."""
    await _scenario(services)
    now = services.clock.now()
    whole = await compute_metrics(services.engine, services.settings, now, timedelta(days=7))
    before = await compute_metrics(services.engine, services.settings, now, timedelta(days=7),
                                   until=now - timedelta(minutes=1))
    assert whole["model_accuracy"]["corrections_by_label"] and before["volume"]["total"] == 6
    assert before["model_accuracy"]["corrections_by_label"] == {}
    assert before["period"]["until"] == (now - timedelta(minutes=1)).isoformat()
