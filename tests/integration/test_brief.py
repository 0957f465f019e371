"""The brief (inbox/work/brief.py) built from a seeded database on a fake clock, on both back ends:
every figure checked against a direct SQL count over the tables; private teams' texts never reach
a brief for readers outside them."""
from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from connectors.base import Mention
from inbox.storage.repo import accounts
from inbox.storage.repo._common import T_CORR, T_CRISIS, T_ITEM, T_MENTION
from inbox.work.brief import EXECUTIVE, build_brief, period_ending
from inbox.work.item_actions import WorkService
from inbox.work.routing_metrics import compute_metrics

MARKUP = "<script>alert('x')</script> my order is broken <b>refund</b> & help"
SINCE = datetime(2026, 1, 5, tzinfo=UTC)
UNTIL = datetime(2026, 1, 12, tzinfo=UTC)


def _m(ext: str, text: str, source: str = "mastodon") -> Mention:
    return Mention(source=source, platform=source, external_id=ext, language="en", text=text)


async def seed(svc: Any) -> None:
    """Two weeks of mentions: a few in the week before the brief's, more in its week, worked."""
    svc.clock._now = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)  # the previous period
    async with svc.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=svc.clock.now(),
                                      capacity=50)
        mk = await accounts.add_user("mk", "agent", ["marketing"], None, conn=conn, now=svc.clock.now())
    w = WorkService(svc.engine, svc.settings, svc.clock)
    await svc.pipeline.ingest([_m("p1", "my order 1 is broken, refund"), _m("p2", "love the new price offer", "rss")])
    svc.clock.advance(timedelta(minutes=20))
    a = await w.claim_next(ann, "customer_care")
    await w.set_status(ann, a.id, "resolved")
    svc.clock._now = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)  # the brief's period
    await svc.pipeline.ingest(
        [_m(f"c{i}", "the app crashes at checkout every time, refund my order please") for i in range(4)]
        + [_m("x1", MARKUP, "rss"), _m("x2", MARKUP, "bluesky"),
           _m("h1", "we are hiring a senior engineer, great job interview secret"),
           _m("k1", "love the new price offer", "rss"), _m("k2", "love the new price offer!", "bluesky")])
    svc.clock.advance(timedelta(minutes=10))
    for _ in range(2):
        it = await w.claim_next(ann, "customer_care")
        svc.clock.advance(timedelta(minutes=15))
        await w.set_status(ann, it.id, "resolved")
    svc.clock.advance(timedelta(minutes=90))
    c = await w.claim_next(ann, "customer_care")  # late: first response missed
    await w.transfer(ann, c.id, "marketing", "product feedback")
    await w.transfer(mk, c.id, "customer_care", "no, an order")
    gone = await w.claim_next(ann, "customer_care")  # moved out of customer care for good
    await w.transfer(ann, gone.id, "marketing", "a price question")
    async with svc.engine.begin() as conn:
        await conn.execute(T_CRISIS.insert().values(
            kind="label", subject="label:customer_care", label="customer_care", status="open",
            window_start=svc.clock.now(), window_end=svc.clock.now(), count=9, opened_at=svc.clock.now(),
            last_spike_at=svc.clock.now()))
    svc.clock._now = UNTIL + timedelta(hours=1)


async def _count(svc: Any, *where: Any) -> int:
    async with svc.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(T_ITEM).where(*where))).scalar_one())


def _in(since: datetime, until: datetime) -> Any:
    return and_(T_ITEM.c.created_at >= since, T_ITEM.c.created_at < until)


async def _median(svc: Any, since: datetime, until: datetime, col: Any, team: str | None = None) -> float | None:
    q = select(T_ITEM.c.created_at, col).where(_in(since, until), col.is_not(None))
    if team:
        q = q.where(T_ITEM.c.team == team)
    async with svc.engine.connect() as conn:
        vals = [(b - a).total_seconds() for a, b in await conn.execute(q)]
    return round(statistics.median(vals), 1) if vals else None


async def _figures_match(svc: Any, fig: dict[str, Any], since: datetime, until: datetime,
                         team: str | None) -> None:
    scope = [T_ITEM.c.team == team] if team else []
    period = [_in(since, until), *scope]
    # a team's transfers and model accuracy: the items the model routed to it (its label), wherever they are now
    routed = [_in(since, until), T_ITEM.c.label == team] if team else period
    assert fig["volume"] == await _count(svc, *period)
    for t, n in fig["by_team"].items():
        assert n == await _count(svc, *period, T_ITEM.c.team == t)
    for lab, n in fig["by_label"].items():
        assert n == await _count(svc, *period, func.coalesce(T_ITEM.c.label, "none") == lab)
    async with svc.engine.connect() as conn:
        for src, n in fig["by_source"].items():
            assert n == (await conn.execute(select(func.count()).select_from(
                T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)).where(*period, T_MENTION.c.source == src))
            ).scalar_one()
    assert sum(fig["by_source"].values()) == sum(fig["by_label"].values()) == fig["volume"]
    not_spam = T_ITEM.c.status != "spam"
    due, touched = T_ITEM.c.first_response_due, T_ITEM.c.first_touched_at
    assert fig["sla_met"] == await _count(svc, *period, not_spam, due.is_not(None), touched <= due)
    assert fig["sla_missed"] == await _count(svc, *period, not_spam, due.is_not(None),
                                             or_(touched > due, and_(touched.is_(None), due < svc.clock.now())))
    assert fig["sla_met_pct"] == (round(100 * fig["sla_met"] / (fig["sla_met"] + fig["sla_missed"]), 1)
                                  if fig["sla_met"] + fig["sla_missed"] else None)
    assert fig["first_response_median"] == await _median(svc, since, until, touched, team)
    assert fig["resolution_median"] == await _median(svc, since, until, T_ITEM.c.resolved_at, team)
    assert fig["first_response_n"] == await _count(svc, *period, touched.is_not(None))
    assert fig["resolution_n"] == await _count(svc, *period, T_ITEM.c.resolved_at.is_not(None))
    async with svc.engine.connect() as conn:
        transfers, bounces = (await conn.execute(select(func.coalesce(func.sum(T_ITEM.c.transfers), 0),
                                                        func.coalesce(func.sum(T_ITEM.c.bounces), 0))
                                                 .where(*routed))).one()
    assert (fig["transfers"], fig["bounces"]) == (transfers, bounces)
    assert fig["transferred"] == await _count(svc, *routed, T_ITEM.c.transfers > 0)
    any_correction = exists().where(T_CORR.c.mention_id == T_ITEM.c.id)
    changed = exists().where(T_CORR.c.mention_id == T_ITEM.c.id, or_(T_CORR.c.predicted_label.is_(None),
                                                                      T_CORR.c.label != T_CORR.c.predicted_label))
    judged = [*routed, T_ITEM.c.label.is_not(None), T_ITEM.c.confidence.is_not(None),
              or_(T_ITEM.c.status.in_(["replied", "waiting", "resolved"]), T_ITEM.c.transfers > 0, any_correction)]
    assert fig["judged"] == await _count(svc, *judged)
    assert fig["corrected"] == await _count(svc, *judged, changed)
    assert fig["accuracy_pct"] == (round(100 * (fig["judged"] - fig["corrected"]) / fig["judged"], 1)
                                   if fig["judged"] else None)


async def test_executive_brief_matches_sql(services: Any) -> None:
    """Each figure of the executive brief, this week and last, equals a direct count over the tables."""
    await seed(services)
    since, until = period_ending(services.clock.now(), timedelta(days=7))
    assert (since, until) == (SINCE, UNTIL)
    b = await build_brief(services.engine, services.settings, EXECUTIVE, since, until, now=services.clock.now())
    prev_since = since - timedelta(days=7)
    await _figures_match(services, b["current"], since, until, None)
    await _figures_match(services, b["previous"], prev_since, since, None)
    assert b["current"]["volume"] == 9 and b["previous"]["volume"] == 2
    assert b["current"]["sla_met"] >= 1 and b["current"]["sla_missed"] >= 1
    assert b["current"]["transfers"] == 3 and b["current"]["corrected"] >= 1
    for row in b["teams"]:
        assert row["volume"] == await _count(services, _in(since, until), T_ITEM.c.team == row["team"])
        assert row["previous"] == await _count(services, _in(prev_since, since), T_ITEM.c.team == row["team"])
        assert row["first_response_median"] == await _median(services, since, until, T_ITEM.c.first_touched_at,
                                                             row["team"])
        met = await _count(services, _in(since, until), T_ITEM.c.team == row["team"], T_ITEM.c.status != "spam",
                           T_ITEM.c.first_touched_at <= T_ITEM.c.first_response_due)
        due = await _count(services, _in(since, until), T_ITEM.c.team == row["team"], T_ITEM.c.status != "spam",
                           or_(T_ITEM.c.first_touched_at <= T_ITEM.c.first_response_due,
                               T_ITEM.c.first_touched_at > T_ITEM.c.first_response_due,
                               and_(T_ITEM.c.first_touched_at.is_(None),
                                    T_ITEM.c.first_response_due < services.clock.now())))
        assert row["sla_met_pct"] == (round(100 * met / due, 1) if due else None)
    async with services.engine.connect() as conn:
        corrections = (await conn.execute(select(func.count()).select_from(T_CORR).where(
            T_CORR.c.created_at >= since, T_CORR.c.created_at < until))).scalar_one()
        crises = (await conn.execute(select(func.count()).select_from(T_CRISIS).where(
            T_CRISIS.c.opened_at >= since, T_CRISIS.c.opened_at < until))).scalar_one()
        top = (await conn.execute(select(T_MENTION.c.cluster_key, func.count().label("n"))
                                  .select_from(T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id))
                                  .where(_in(since, until), T_MENTION.c.cluster_key.is_not(None))
                                  .group_by(T_MENTION.c.cluster_key).order_by(func.count().desc()).limit(1))).one()
        prev_corrections = (await conn.execute(select(func.count()).select_from(T_CORR).where(
            T_CORR.c.created_at >= prev_since, T_CORR.c.created_at < since))).scalar_one()
    assert b["misroutes"]["count"] == corrections == 3
    assert b["misroutes"]["previous"] == prev_corrections
    assert len(b["crises"]) == crises == 1
    assert (b["themes"][0]["key"], b["themes"][0]["items"]) == (top[0], top[1]) and top[1] == 4
    assert "checkout" in b["themes"][0]["keywords"] and "the" not in b["themes"][0]["keywords"]
    # four copies of one text make a theme of 4 mentions, quoted once
    assert [e["text"] for e in b["themes"][0]["examples"]] == [
        "the app crashes at checkout every time, refund my order please"]
    # HR is private: counted, never quoted, to readers outside it
    assert b["withheld"] == ["hr"]
    assert next(r for r in b["teams"] if r["team"] == "hr")["volume"] == 1
    every_text = " ".join(e["text"] for t in b["themes"] for e in t["examples"]) + str(b["keywords"])
    assert "hiring" not in every_text and "secret" not in every_text


async def test_team_brief_matches_sql(services: Any) -> None:
    """A team's brief counts that team's items only; HR's own brief may quote HR's mentions."""
    await seed(services)
    b = await build_brief(services.engine, services.settings, "customer_care", SINCE, UNTIL,
                          now=services.clock.now())
    await _figures_match(services, b["current"], SINCE, UNTIL, "customer_care")
    await _figures_match(services, b["previous"], SINCE - timedelta(days=7), SINCE, "customer_care")
    assert b["teams"] == [] and b["current"]["by_team"] == {"customer_care": b["current"]["volume"]}
    assert b["misroutes"]["count"] == 3  # out of customer care and back into it, and out for good
    # the item moved out for good is customer care's transfer and the model's mistake there, not marketing's
    assert b["current"]["transferred"] == 2 and b["current"]["corrected"] == 2
    mk = await build_brief(services.engine, services.settings, "marketing", SINCE, UNTIL, now=services.clock.now())
    await _figures_match(services, mk["current"], SINCE, UNTIL, "marketing")
    assert mk["current"]["transferred"] == 0 and mk["current"]["corrected"] == 0
    assert b["withheld"] == []  # a team's brief shows no other team: nothing to withhold, no note
    hr = await build_brief(services.engine, services.settings, "hr", SINCE, UNTIL, now=services.clock.now())
    assert hr["withheld"] == [] and "hiring" in str(hr["keywords"])


async def test_the_dashboard_of_a_team_counts_transfers_and_accuracy_as_its_brief_does(services: Any) -> None:
    """The metrics filtered to a team (the dashboard, GET /api/v1/metrics?team=) count the items the
    model routed to the team wherever they are now, like the team's brief: the item customer care
    handed to marketing for good is customer care's transfer and the model's mistake there."""
    await seed(services)
    now = services.clock.now()
    for team in ("customer_care", "marketing"):
        brief = (await build_brief(services.engine, services.settings, team, SINCE, UNTIL, now=now))["current"]
        m = await compute_metrics(services.engine, services.settings, now, UNTIL - SINCE, team=team, until=UNTIL)
        transferred = sum(r["transferred"] for r in m["transfers"].values())
        assert (transferred, m["model_accuracy"]["corrected"]) == (brief["transferred"], brief["corrected"]), team
        assert m["model_accuracy"]["judged"] == brief["judged"], team
    care = await compute_metrics(services.engine, services.settings, now, UNTIL - SINCE, team="customer_care",
                                 until=UNTIL)
    assert sum(r["transferred"] for r in care["transfers"].values()) == 2
    assert care["model_accuracy"]["corrected_pairs"] == {"customer_care->marketing": 2}


def test_periods_align_on_monday() -> None:
    """Weekly periods run Monday 00:00 to Monday 00:00 UTC; daily ones midnight to midnight."""
    now = datetime(2026, 12, 4, 21, 30, tzinfo=UTC)  # a Friday
    assert period_ending(now, timedelta(days=7)) == (datetime(2026, 11, 23, tzinfo=UTC),
                                                      datetime(2026, 11, 30, tzinfo=UTC))
    assert period_ending(now, timedelta(days=1)) == (datetime(2026, 12, 3, tzinfo=UTC),
                                                      datetime(2026, 12, 4, tzinfo=UTC))
