"""The manager's dashboard over HTTP on a fake clock: a custom from/to range (validated: 422 with
the reason beside the form, in the reader's language), every figure beside the previous period's,
per-agent figures checked against the seeded work, charts with axes, legends and a table of their
values, and singular/plural wording."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from connectors.base import Mention
from inbox.domain.clock import FakeClock
from inbox.storage.repo._common import T_CRISIS, T_ITEM
from inbox.web.charts import short_labels
from inbox.web.testing import LiveServer, SeedUser, seed_users, web_login
from inbox.work.item_actions import WorkService

USERS = (SeedUser("ann", "agent", ("customer_care",)), SeedUser("mo", "agent", ("marketing",)),
         SeedUser("mara", "manager", ()), SeedUser("giulia", "manager", (), "it"))
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
LONG = "forum-" + "x" * 48  # two sources alike but for their last word, 60 characters each (64 at most)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("dash")
    clock = FakeClock(START)

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, USERS)
        w = WorkService(svc.engine, svc.settings, svc.clock)
        await svc.pipeline.ingest([Mention(source="seed", platform="rss", external_id=f"old-{i}", language="en",
                                           text=f"love the new price offer {i}") for i in range(2)])
        clock.advance(timedelta(days=7))  # the next week: three items, two worked by ann
        await svc.pipeline.ingest([Mention(source=name, platform="rss", external_id=f"new-{i}", language="en",
                                           text=f"my order {i} is broken, refund please")
                                   for i, name in enumerate([LONG + "-north", LONG + "-south", "seed"])])
        clock.advance(timedelta(minutes=10))
        a = await w.claim_next(users["ann"], "customer_care")
        await w.set_status(users["ann"], a.id, "resolved")
        clock.advance(timedelta(minutes=20))
        b = await w.claim_next(users["ann"], "customer_care")
        await w.set_status(users["ann"], b.id, "resolved")
        # two corrections on 9 March: the third new item, and one of 2 March's (not an item of 9 March)
        c = await w.claim_next(users["ann"], "customer_care")
        await w.transfer(users["ann"], c.id, "marketing", "a question about a price")
        async with svc.engine.begin() as conn:
            old = (await conn.execute(select(T_ITEM.c.id).where(T_ITEM.c.created_at < START + timedelta(days=1))
                                      .order_by(T_ITEM.c.id).limit(1))).scalar_one()
        await w.transfer(users["mo"], old, "customer_care", "an order")
        async with svc.engine.begin() as conn:
            await conn.execute(T_CRISIS.insert().values(
                kind="label", subject="label:customer_care", label="customer_care", status="open",
                window_start=clock.now(), window_end=clock.now(), count=7, opened_at=clock.now(),
                last_spike_at=clock.now()))
        clock.advance(timedelta(hours=2))
        return {}

    with live_server("sqlite", tmp, seed, clock=clock) as srv:
        yield srv


async def _page(server: LiveServer, user: str, query: str) -> tuple[int, str]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await web_login(s, server.url, user)
        async with s.get(server.url + "/dashboard" + query) as r:
            return r.status, await r.text()


@pytest.mark.parametrize("query,reason", [
    ("?from=2026-03-09&to=2026-03-01", "The first day must not be after the last."),
    ("?from=2026-03-09", "Give both days of the range, like 2026-01-31."),
    ("?from=09/03/2026&to=2026-03-10", "Give both days of the range, like 2026-01-31."),
    ("?from=2025-01-01&to=2026-03-09", "A range is at most 366 days."),
    ("?from=2027-01-01&to=2027-01-02", "The range starts in the future."),
])
async def test_a_bad_range_is_refused_beside_the_form(server: LiveServer, query: str, reason: str) -> None:
    status, html = await _page(server, "mara", query)
    assert status == 422
    assert f'<p id="f-error" class="form-error" role="alert">{reason}</p>' in html
    assert 'aria-invalid="true"' in html and "<form" in html


async def test_the_reason_in_italian(server: LiveServer) -> None:
    status, html = await _page(server, "giulia", "?from=2026-03-09&to=2026-03-01")
    assert status == 422 and "Il primo giorno non può essere dopo l&#39;ultimo." in html


async def test_custom_range_previous_period_and_agents(server: LiveServer) -> None:
    """9 March holds the three new items, 2 March the two old ones; a range ends now at the latest and
    is compared with the span of the same length before it."""
    status, html = await _page(server, "mara", "?from=2026-03-09&to=2026-03-10")
    assert status == 200
    assert re.search(r'data-kpi="total">3<', html)
    assert 'data-change="total">new this period<' in html
    week = (await _page(server, "mara", "?from=2026-03-02&to=2026-03-08"))[1]  # the week before: the old two
    assert re.search(r'data-kpi="total">2<', week) and ("Mar 2, 2026" in week or "3/2/26" in week)
    last = (await _page(server, "mara", "?from=2026-03-03&to=2026-03-09"))[1]  # 9 March (partly) against 2 March
    assert re.search(r'data-kpi="total">3<', last) and 'data-change="total">+50%<' in last
    # ann handled two items: first touches after 10 and 30 minutes, both within customer care's hour
    row = re.search(r'<tr><th scope="row">ann</th>(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td [^>]*class="num">(.*?)</td>', row.group(1))
    assert cells[0] == "2" and cells[2] == "20 minutes" and cells[4] == "100%"
    # every column of the agents table has a heading of its own (a screen reader reads it per cell)
    head = re.search(r'<thead><tr><th scope="col">Agent</th>(.*?)</tr></thead>', html, re.S)
    assert head is not None
    headings = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', head.group(1))
    assert len(headings) == 6 and len(set(headings)) == 6, headings
    assert "3 items judged by agents, 1 corrected by a transfer." in html
    # the table under it lists those same items, not every correction made in the range (2 March's)
    accuracy = html.split('aria-label="Model accuracy"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">(.*?)</th><td data-label="count" class="num">(\d+)</td>', accuracy) == [
        ("Customer care → Marketing", "1")]
    # a crisis named as a reader says it, its counts in words that agree with the number
    assert "<p data-crises>1 open, 1 opened in the period</p>" in html
    assert '<th scope="row">Customer care <span class="muted crisis-kind">surge of one label</span></th>' in html
    assert "label:customer_care" not in html
    # charts: axis captions, a legend, a values table, titles naming the SVG
    assert html.count('class="axis-title"') >= 4 and html.count('class="legend"') >= 4
    assert 'aria-labelledby="c-source-t c-source-d"' in html and "<summary>Figures of the chart</summary>" in html
    # the two long source names are drawn whole, on a line of their own, and listed in the table
    assert f">{LONG}-north</text>" in html and f">{LONG}-south</text>" in html
    assert f">{LONG}-north</th>" in html


def test_short_labels_never_collide() -> None:
    long_a, long_b = "a" * 40 + "middle-one" + "z" * 40, "a" * 40 + "middle-two" + "z" * 40
    out = short_labels([long_a, long_b, "short"])
    assert len(set(out)) == 3 and all(len(x) <= 64 for x in out) and out[2] == "short"


async def test_singular_wording(server: LiveServer) -> None:
    status, html = await _page(server, "mara", "?from=2026-03-09&to=2026-03-09")
    assert status == 200 and ("1 breach" in html or "0 breaches" in html)
    it = (await _page(server, "giulia", "?from=2026-03-09&to=2026-03-10"))[1]
    assert "3 elementi valutati dagli operatori, 1 corretto" in it and "Operatori" in it
    assert "<p data-crises>1 aperta, 1 aperta nel periodo</p>" in it  # not "1 aperte"


async def test_csv_export_of_a_custom_range(server: LiveServer) -> None:
    """The export follows the range: 2 March's two items only; a bad range is refused (422)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await web_login(s, server.url, "mara")
        async with s.get(server.url + "/dashboard/export.csv?from=2026-03-02&to=2026-03-02") as r:
            assert r.status == 200
            assert 'filename="inbox-items-2026-03-02_2026-03-02.csv"' in r.headers["Content-Disposition"]
            rows = (await r.text()).strip().splitlines()
        assert len(rows) == 3 and all(",2026-03-02T" in row for row in rows[1:])
        async with s.get(server.url + "/dashboard/export.csv?from=2026-03-09&to=2026-03-02") as r:
            assert r.status == 422
    _status, html = await _page(server, "mara", "?from=2026-03-02&to=2026-03-02")
    assert 'href="/dashboard/export.csv?from=2026-03-02&amp;to=2026-03-02"' in html
