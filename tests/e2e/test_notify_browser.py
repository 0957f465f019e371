"""Notifications for people in headless Chromium, in English and Italian, at 1280 and 390 px: a
lead assigns an item to an agent and the agent's open page shows it live (the bell's count and
the tab title), the agent reads it on /notifications and marks it read; a note naming the agent
on an HR item never reaches them. Browser notifications are asked for only when turned on, then
shown. No page scrolls sideways."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import Mention
from inbox.web.testing import LiveServer, SeedUser, seed_users
from tests.e2e.test_browser import Session

pytestmark = pytest.mark.browser

USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("lea", "lead", ("customer_care",)),
         SeedUser("henry", "lead", ("hr",)))
VIEWS = [("en-US", 1280), ("en-US", 390), ("it-IT", 1280), ("it-IT", 390)]
#: stands in for the browser's Notification API: records what is asked for (on this page) and shown;
#: the permission, once given, lasts for the tab as a real browser's does for the site
FAKE_NOTIFICATION = """
window.__asked = 0; window.__shown = [];
window.Notification = class {
  constructor(text) { window.__shown.push(text); document.body.setAttribute("data-shown", window.__shown.join("|")); }
  static get permission() { return sessionStorage.getItem("granted") ? "granted" : "default"; }
  static requestPermission() {
    window.__asked += 1;
    sessionStorage.setItem("granted", "1");
    document.body.setAttribute("data-asked", String(window.__asked));
    return Promise.resolve("granted");
  }
};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("e2e-notify")

    async def seed(svc: Any) -> dict[str, Any]:
        return {"users": await seed_users(svc, USERS)}

    with live_server("sqlite", tmp, seed) as srv:
        yield srv


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth") == width


def _item(server: LiveServer, text: str) -> int:
    async def run() -> int:
        res = await server.svc.pipeline.ingest([Mention(source="s", platform="reddit", external_id=uuid.uuid4().hex,
                                                        language="en", text=text)])
        return int(res.item_ids[0])
    return server.call(run)  # type: ignore[no-any-return]


def _hr_note_naming_carla(server: LiveServer) -> int:
    from inbox.work.item_actions import WorkService
    item = _item(server, f"job interview {uuid.uuid4().hex[:6]}, colloquio")

    async def run() -> None:
        w = WorkService(server.svc.engine, server.svc.settings, server.svc.clock, publish=server.svc._publish)
        await w.add_note(server.seeded["users"]["henry"], item, "@carla @henry candidate called back")
    server.call(run)
    return item


def _unread(page: Any) -> int:
    return int(page.get_attribute("#notify-count", "data-n") or page.inner_text("#notify-count") or 0)


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=[f"{loc}-{w}" for loc, w in VIEWS])
def test_assignment_reaches_the_agent_live_and_is_marked_read(browser: Any, server: LiveServer, locale: str,
                                                               width: int) -> None:
    from playwright.sync_api import expect
    it = locale.startswith("it")
    agent = Session(browser, server, "carla", width=width, height=900, locale=locale)
    page = agent.go("/notifications")
    if page.locator("form[action='/notifications/read-all'] button").count():
        page.click("form[action='/notifications/read-all'] button")
    expect(page.locator("#notify-count")).to_be_hidden()
    assert not re.match(r"^\(\d+\)", page.title())
    expect(page.locator("h1")).to_have_text("Notifiche" if it else "Notifications")
    page = agent.go("/queues")
    expect(page.locator("body[data-live=open]")).to_have_count(1)
    # an HR item naming carla: nothing reaches her, not even a count
    _hr_note_naming_carla(server)
    item = _item(server, f"my order {uuid.uuid4().hex[:6]} is broken, refund please")
    lead = Session(browser, server, "lea", width=width, height=900, locale=locale)
    lp = lead.go(f"/items/{item}")
    lp.select_option("#assign-user", "carla")
    lp.click("form[action$='/assign'] button[type=submit]")
    expect(lp.locator(".flash-ok")).to_contain_text("carla")
    lead.close()
    # live: the bell and the tab title, without a reload
    expect(page.locator("#notify-count")).to_have_text("1")
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    label = page.get_attribute("#notify-bell", "aria-label") or ""
    assert label == ("Notifiche, 1 non lette" if it else "Notifications, 1 unread")
    _fits(page, width)
    page = agent.go("/notifications")
    rows = page.locator(".notice.unread")
    expect(rows).to_have_count(1)
    want = f"lea ti ha assegnato l'elemento #{item}" if it else f"lea assigned item #{item} to you"
    expect(rows.first.locator(".notice-link")).to_have_text(want)
    assert "colloquio" not in page.content() and "candidate called back" not in page.content()
    _fits(page, width)
    agent.shot(f"notifications-{locale}-{width}")
    rows.first.locator("form[action='/notifications/read'] button").click()
    expect(page.locator(".flash-ok")).to_have_text("Segnata come letta." if it else "Marked as read.")
    expect(page.locator(".notice.unread")).to_have_count(0)
    expect(page.locator("#notify-count")).to_be_hidden()
    assert not re.match(r"^\(\d+\)", page.title())
    _fits(page, width)
    page.click(f".notice-link[href='/items/{item}']")
    page.wait_for_url(re.compile(f"/items/{item}$"))
    agent.close()


def test_browser_notifications_are_asked_for_only_when_turned_on(browser: Any, server: LiveServer) -> None:
    from playwright.sync_api import expect
    agent = Session(browser, server, "carla")
    agent.ctx.add_init_script(FAKE_NOTIFICATION)
    page = agent.go("/notifications")
    assert page.evaluate("window.__asked") == 0          # not on load
    page.check("#notify-browser")
    expect(page.locator("body[data-asked='1']")).to_have_count(1)
    page.click("form[action='/notifications/settings'] button[type=submit]")
    expect(page.locator(".flash-ok")).to_have_text("Notification settings saved.")
    expect(page.locator("#notify-browser")).to_be_checked()
    assert page.get_attribute("body", "data-notify-browser") == "on"
    expect(page.locator("body[data-live=open]")).to_have_count(1)
    item = _item(server, f"my order {uuid.uuid4().hex[:6]} is broken, refund please")
    lead = Session(browser, server, "lea")
    lp = lead.go(f"/items/{item}")
    lp.fill("#note-text", "@carla please call this customer")
    lp.click("form[action$='/note'] button[type=submit]")
    lead.close()
    expect(page.locator("body")).to_have_attribute("data-shown", f"lea mentioned you in a note on item #{item}")
    page.uncheck("#notify-browser")
    page.click("form[action='/notifications/settings'] button[type=submit]")
    assert page.get_attribute("body", "data-notify-browser") is None
    assert page.evaluate("window.__asked") == 0           # a fresh page load: nothing asked
    agent.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=[f"{loc}-{w}" for loc, w in VIEWS])
def test_opening_the_item_reads_its_notifications_in_every_tab(browser: Any, server: LiveServer, locale: str,
                                                               width: int) -> None:
    """A note naming the agent: the bell counts it; opening the item (in another tab) reads it, and
    the first tab's bell and title drop live; a notification about another item stays."""
    from playwright.sync_api import expect

    from inbox.work.item_actions import WorkService
    agent = Session(browser, server, "carla", width=width, height=900, locale=locale)
    page = agent.go("/notifications")
    if page.locator("form[action='/notifications/read-all'] button").count():
        page.click("form[action='/notifications/read-all'] button")
    page = agent.go("/queues")
    expect(page.locator("body[data-live=open]")).to_have_count(1)
    items = [_item(server, f"my order {uuid.uuid4().hex[:6]} is broken, refund please") for _ in range(2)]

    async def notes() -> None:
        w = WorkService(server.svc.engine, server.svc.settings, server.svc.clock, publish=server.svc._publish)
        for item in (*items, items[0]):
            await w.add_note(server.seeded["users"]["lea"], item, "@carla can you check this one?")
    server.call(notes)
    expect(page.locator("#notify-count")).to_have_text("3")
    expect(page).to_have_title(re.compile(r"^\(3\) "))
    other = agent.ctx.new_page()
    other.goto(server.url + f"/items/{items[0]}")
    expect(other.locator("#notify-count")).to_have_text("1")   # counted after the two were read
    expect(other).to_have_title(re.compile(r"^\(1\) "))
    _fits(other, width)
    expect(page.locator("#notify-count")).to_have_text("1")    # the first tab, live
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    label = page.get_attribute("#notify-bell", "aria-label") or ""
    assert label == ("Notifiche, 1 non lette" if locale.startswith("it") else "Notifications, 1 unread")
    other.goto(server.url + f"/items/{items[1]}")
    expect(other.locator("#notify-count")).to_be_hidden()
    expect(page.locator("#notify-count")).to_be_hidden()
    assert not re.match(r"^\(\d+\)", page.title())
    _fits(page, width)
    other.close()
    agent.close()
