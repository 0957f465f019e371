"""The Reports page, a brief's page, its preview, Admin › Briefs and the dashboard in headless
Chromium, in English and Italian, at 1280 and 390 px: no horizontal overflow, a mention's markup
shown as text (never run), "send now" reaching a local SMTP server, recipients added and removed."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from connectors.base import Mention
from inbox.web.testing import XSS_TEXT, LiveServer, SeedUser, sample_mentions, seed_users
from tests.e2e.test_browser import Session
from tests.integration.test_brief_delivery import Inbox

pytestmark = pytest.mark.browser

USERS = (SeedUser("mara", "manager", ()), SeedUser("giulia", "manager", (), "it"),
         SeedUser("root", "admin", ()), SeedUser("carla", "agent", ("customer_care",)),
         SeedUser("lia", "lead", ("customer_care",)))
OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"
# what sticks out past the viewport, named in the failure message
# the scroll boxes of tables whose content is wider than the box: part of a table cut from view
CLIPPED = ("() => [...document.querySelectorAll('.table-scroll')].filter(e => e.scrollWidth > e.clientWidth + 1)"
           ".map(e => e.getAttribute('aria-label') || e.getAttribute('aria-labelledby'))")
# the smallest chart text as drawn, in CSS pixels (its font size in chart units times the chart's scale)
CHART_TEXT_PX = ("() => Math.min(...[...document.querySelectorAll('svg.chart text')].map(t => {"
                 " const svg = t.closest('svg'); return parseFloat(getComputedStyle(t).fontSize)"
                 " * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width; }))")
WIDE = ("() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className)")


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    yield box, port
    ctl.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: tuple[Inbox, int]) -> Iterator[LiveServer]:
    from inbox.storage.repo import digests
    from inbox.web.brief_mail import send_now
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("reports")

    async def seed(svc: Any) -> dict[str, Any]:
        await seed_users(svc, USERS)
        await svc.pipeline.ingest(sample_mentions(n_care=10)
                                  + [Mention(source="seed", platform="rss", external_id=f"xss-{i}", text=XSS_TEXT)
                                     for i in range(2)])
        async with svc.engine.begin() as conn:
            await digests.add_recipient("executive", "ceo@example.com", "it", conn=conn, now=svc.clock.now())
        return {"run": await send_now(svc, "executive")}

    with live_server("sqlite", tmp, seed, notifications={"smtp_host": "127.0.0.1", "smtp_port": smtp[1]}) as srv:
        yield srv


@pytest.mark.parametrize("user,width", [("mara", 1280), ("mara", 390), ("giulia", 1280), ("giulia", 390)])
def test_reports_pages_fit_and_speak_the_language(browser: Any, server: LiveServer, user: str, width: int) -> None:
    from playwright.sync_api import expect
    s = Session(browser, server, user, width=width)
    page, it = s.page, user == "giulia"
    run_id = server.seeded["run"]["id"]
    s.go("/reports")
    expect(page.locator("h1")).to_have_text("Report" if it else "Reports")
    expect(page.locator("#r-past")).to_have_text("Sintesi inviate" if it else "Past briefs")
    expect(page.locator("table").nth(1)).to_contain_text("ceo@example.com")
    assert page.evaluate(OVERFLOW), f"/reports overflows at {width}px"
    assert page.evaluate(CLIPPED) == [], f"/reports cuts a table at {width}px"
    s.shot(f"reports-{user}-{width}")
    page.click(f"a[href='/reports/{run_id}']")
    expect(page.locator("h1")).to_have_text("Sintesi per la direzione" if it else "Executive brief")
    expect(page.locator("blockquote.quote").first).to_be_visible()
    expect(page.locator("h3.theme").first).to_contain_text(" menzioni" if it else " mentions")
    expect(page.locator("#b-themes").locator("..")).to_contain_text("<script>window.__xss=2</script>")
    assert page.evaluate("window.__xss") is None  # shown, never run
    assert page.evaluate(OVERFLOW), f"the brief overflows at {width}px"
    assert page.evaluate(CLIPPED) == [], f"the brief cuts a table at {width}px"
    s.shot(f"report-{user}-{width}")
    s.go("/reports/preview?audience=customer_care")
    expect(page.locator("h1")).to_have_text("Sintesi: Assistenza clienti" if it else "Brief: Customer care")
    assert page.evaluate(OVERFLOW), f"the preview overflows at {width}px"
    assert page.evaluate(CLIPPED) == [], f"the preview cuts a table at {width}px"
    with page.expect_download() as dl:
        s.go("/reports")
        page.click(f"a[href='/reports/{run_id}/brief.pdf']")
    assert Path(dl.value.path()).read_bytes().startswith(b"%PDF-")
    s.close()


@pytest.mark.parametrize("user,width", [("mara", 1280), ("mara", 390), ("giulia", 1280), ("giulia", 390)])
def test_dashboard_fits_and_refuses_a_bad_range_inline(browser: Any, server: LiveServer, user: str,
                                                       width: int) -> None:
    """Charts with axes and legends, per-agent and compared figures, no horizontal overflow; a
    reversed range answers with the reason beside the form, in the reader's language."""
    from playwright.sync_api import expect
    s = Session(browser, server, user, width=width)
    page, it = s.page, user == "giulia"
    s.go("/dashboard")
    expect(page.locator("#h-agents")).to_have_text("Operatori" if it else "Agents")
    assert page.locator("svg.chart .axis-title").count() >= 4 and page.locator("p.legend").count() >= 4
    assert page.locator("svg.chart > title").first.text_content()
    expect(page.locator("[data-change=total]")).to_have_text("nuovo" if it else "new this period")
    wide = page.evaluate(WIDE)
    assert page.evaluate(OVERFLOW), f"the dashboard overflows at {width}px: {wide}"
    assert page.evaluate(CLIPPED) == [], f"the dashboard cuts a table at {width}px"
    # a phone does not shrink the charts' words to specks: it scrolls the chart sideways instead
    assert page.evaluate(CHART_TEXT_PX) >= 10, f"chart text under 10 px at {width}px"
    s.shot(f"dashboard-{user}-{width}")
    page.fill("#f-from", "2026-03-09")
    page.fill("#f-to", "2026-03-01")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#f-error")).to_have_text("Il primo giorno non può essere dopo l'ultimo." if it
                                                  else "The first day must not be after the last.")
    assert page.evaluate(OVERFLOW)
    s.errors = [e for e in s.errors if "422" not in e]  # the page's own status, logged by the browser
    s.close()


def test_admin_sets_recipients_and_sends_now(browser: Any, server: LiveServer, smtp: tuple[Inbox, int]) -> None:
    from playwright.sync_api import expect
    box, _port = smtp
    s = Session(browser, server, "root", width=390)
    page = s.page
    s.go("/admin/briefs")
    assert page.evaluate(OVERFLOW)
    page.select_option("#b-audience", "customer_care")
    page.fill("#b-email", "care.lead@localhost")  # the browser lets it through; the service refuses it
    page.select_option("#b-lang", "it")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#b-email-error")).to_contain_text("Not added: give a plain e-mail address")
    # what was typed is still there, to be corrected rather than typed again
    expect(page.locator("#b-email")).to_have_value("care.lead@localhost")
    expect(page.locator("#b-email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#b-audience")).to_have_value("customer_care")
    expect(page.locator("#b-lang")).to_have_value("it")
    expect(page.locator("table")).not_to_contain_text("care.lead@localhost")
    assert len(s.errors) == 1 and "status of 422" in s.errors[0], s.errors  # Chromium logs the refusal's status
    s.errors.clear()
    page.fill("#b-email", "care.lead@example.com")
    page.click("form.filters button[type=submit]")
    expect(page.locator("p.flash")).to_contain_text("care.lead@example.com will receive the brief: Customer care.")
    expect(page.locator("table")).to_contain_text("care.lead@example.com")
    s.shot("admin-briefs-390")
    before = len(box.messages)
    s.go("/reports")
    # a brief nobody receives cannot be sent, and its button does not look as if it could
    style = "e => [getComputedStyle(e).opacity, getComputedStyle(e).cursor]"
    assert page.locator("form[action='/reports/send']:has(input[value=customer_care]) button").evaluate(style) == \
        ["1", "pointer"]
    disabled = page.locator("form[action='/reports/send'] button[disabled]").first
    assert disabled.evaluate(style) == ["0.55", "not-allowed"]
    page.click("form[action='/reports/send']:has(input[value=customer_care]) button")
    expect(page.locator("p.flash")).to_have_text("Brief sent to 1 recipient.")
    assert len(box.messages) == before + 1 and box.messages[-1]["To"] == "care.lead@example.com"
    assert box.messages[-1]["Subject"].startswith("Sintesi: Assistenza clienti")
    s.go("/admin/briefs")
    page.click("form.recipient:has-text('care.lead@example.com') button")
    expect(page.locator("p.flash")).to_have_text("Recipient removed.")
    expect(page.locator("table")).not_to_contain_text("care.lead@example.com")
    s.close()


def test_who_reads_which_brief(browser: Any, server: LiveServer) -> None:
    """An agent gets no reports; a lead sees their team's brief, not the executive one."""
    agent = Session(browser, server, "carla")
    assert agent.go("/reports").locator("h1").inner_text() != "Reports"
    agent.errors.clear()  # the 403 page's resource error
    agent.close()
    lead = Session(browser, server, "lia")
    page = lead.go("/reports")
    assert page.locator("a[href='/reports/preview?audience=customer_care']").count() == 1
    assert page.locator("a[href='/reports/preview?audience=executive']").count() == 0
    run_id = server.seeded["run"]["id"]
    assert lead.go(f"/reports/{run_id}").locator("h1").inner_text() != "Executive brief"
    lead.errors.clear()
    lead.close()
