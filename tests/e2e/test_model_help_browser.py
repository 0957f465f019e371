"""The "help the model" page in headless Chromium as a lead, in English and Italian, at 1280 and
390 px: no horizontal overflow, a mention's markup shown as text (never run), and the keys: the
confirm key and a label's number answer for the first item."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import Mention
from inbox.web.testing import XSS_TEXT, LiveServer, SeedUser, sample_mentions, seed_users
from tests.e2e.test_browser import Session
from tests.e2e.test_reports_browser import OVERFLOW, WIDE

pytestmark = pytest.mark.browser

USERS = (SeedUser("lia", "lead", ("customer_care",)), SeedUser("lucia", "lead", ("customer_care",), "it"),
         SeedUser("carla", "agent", ("customer_care",)))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("model_help")

    async def seed(svc: Any) -> dict[str, Any]:
        await seed_users(svc, USERS)
        await svc.pipeline.ingest(sample_mentions(n_care=6, with_xss=False) + [
            Mention(source="seed", platform="rss", external_id="xss", text=XSS_TEXT),
            Mention(source="seed", platform="rss", external_id="long", text="my order " + "x" * 300 + " help")])
        return {}

    with live_server("sqlite", tmp, seed) as srv:
        yield srv


@pytest.mark.parametrize("user,width", [("lia", 1280), ("lia", 390), ("lucia", 1280), ("lucia", 390)])
def test_help_page_fits_and_speaks_the_language(browser: Any, server: LiveServer, user: str, width: int) -> None:
    from playwright.sync_api import expect
    s = Session(browser, server, user, width=width)
    page, it = s.page, user == "lucia"
    page.click("nav a[href='/help-the-model']")
    expect(page.locator("h1")).to_have_text("Aiuta il modello" if it else "Help the model")
    rows = page.locator("ol.help-model > li")
    assert rows.count() >= 3
    expect(rows.first).to_contain_text("Il modello dice" if it else "The model says")
    expect(page.locator("ol.help-model")).to_contain_text("<script>window.__xss=2</script>")
    assert page.evaluate("window.__xss") is None
    assert page.evaluate(OVERFLOW), f"/help-the-model overflows at {width}px: {page.evaluate(WIDE)}"
    s.shot(f"help-model-{user}-{width}")
    s.close()


def test_agents_have_no_link_and_no_page(browser: Any, server: LiveServer) -> None:
    s = Session(browser, server, "carla")
    assert s.page.locator("nav a[href='/help-the-model']").count() == 0
    assert s.page.goto(s.base + "/help-the-model").status == 403
    s.errors = [e for e in s.errors if "403" not in e]
    s.close()


def test_keys_confirm_and_correct_the_first_item(browser: Any, server: LiveServer) -> None:
    from playwright.sync_api import expect
    s = Session(browser, server, "lia")
    page = s.go("/help-the-model")
    first = page.locator("ol.help-model > li").first.get_attribute("data-item-id")
    count = page.locator("ol.help-model > li").count()
    page.keyboard.press("y")
    expect(page.locator("p.flash")).to_have_text("Thank you: the model learns Customer care for this item.")
    expect(page.locator("ol.help-model > li")).to_have_count(count - 1)
    assert page.locator(f"ol.help-model > li[data-item-id='{first}']").count() == 0
    page.keyboard.press("1")  # the first label: marketing
    expect(page.locator("p.flash")).to_have_text("Thank you: the model learns Marketing for this item.")
    expect(page.locator("ol.help-model > li")).to_have_count(count - 2)
    s.close()
