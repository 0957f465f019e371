"""The web app in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against the
real server on an ephemeral port over a SQLite database seeded through the real pipeline: sign in,
claim, note, transfer, live updates between two browsers, the manager's charts, XSS shown as text,
HR invisible to customer care, Italian, admin. Screenshots go to test-output/screenshots/."""
from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Mention
from inbox.web.testing import PASSWORD, XSS_TEXT, LiveServer, SeedUser, api_token, sample_mentions, seed_users
from tests.e2e.conftest import ARGS, CHROMIUM  # noqa: F401  (the browser's path and flags, for other modules)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "screenshots"
USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("dario", "agent", ("customer_care",)),
         SeedUser("henry", "agent", ("hr",)), SeedUser("marco", "agent", ("marketing",), "it"),
         SeedUser("mara", "manager", ()), SeedUser("root", "admin", ()))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import ExplainingKeywordClassifier, live_server
    tmp = tmp_path_factory.mktemp("e2e")

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, USERS)
        await svc.pipeline.ingest(sample_mentions(n_care=14))
        return {n: await api_token(svc, u.id) for n, u in users.items()}

    with live_server("sqlite", tmp, seed, classifier=ExplainingKeywordClassifier()) as srv:
        yield srv


class Session:
    """A signed-in browser context; records console errors and dialogs (neither may happen)."""

    def __init__(self, browser: Any, server: LiveServer, user: str, *, width: int = 1280, height: int = 900,
                 locale: str = "en-US") -> None:
        self.ctx = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        self.page = self.ctx.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.base = server.url
        self.page.goto(self.base + "/login")
        self.page.fill("#login-name", user)
        self.page.fill("#login-password", PASSWORD)
        self.page.click("form[action='/login'] button[type=submit]")
        self.page.wait_for_url(re.compile(r"/(queues|dashboard)"))

    def _dialog(self, d: Any) -> None:
        self.dialogs.append(d.message)
        d.accept()

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        assert not self.errors, self.errors
        self.ctx.close()


def _ingest(server: LiveServer, mentions: list[Mention]) -> list[int]:
    async def run() -> list[int]:
        return list((await server.svc.pipeline.ingest(mentions)).item_ids)
    return server.call(run)  # type: ignore[no-any-return]


def test_agent_claims_notes_and_transfers(browser: Any, server: LiveServer) -> None:
    """An agent signs in, claims the next item with the keyboard, adds a note and transfers it with a reason."""
    from playwright.sync_api import expect
    s = Session(browser, server, "carla")
    page = s.page
    expect(page.locator("table.queues")).to_contain_text("Customer care")
    s.shot("queues")
    s.go("/queues/customer_care")
    expect(page.locator("[data-list=available] .item-row").first).to_be_visible()
    s.shot("queue-customer-care")
    page.keyboard.press("c")  # claim next
    page.wait_for_url(re.compile(r"/items/\d+$"))
    item_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("h1")).to_contain_text("claimed")
    # the words that weighed most load when the section is opened
    words = page.locator("details#features")
    expect(words).not_to_have_attribute("data-loaded", "yes")
    words.locator("summary").click()
    expect(words).to_have_attribute("data-loaded", "yes")
    expect(words.locator("dt").first).to_have_text("Customer care")
    expect(words.locator("dd").first).to_contain_text("broken")
    page.keyboard.press("n")
    expect(page.locator("#note-text")).to_be_focused()
    page.keyboard.type("Called the customer, refund on its way")
    page.click("form[action$='/note'] button[type=submit]")
    expect(page.locator(".notes")).to_contain_text("Called the customer, refund on its way")
    expect(page.locator(".flash-ok")).to_contain_text("Note added")
    s.shot("item-claimed-with-note")
    page.select_option("#transfer-team", "marketing")
    page.fill("#transfer-reason", "Product feedback, not a support case")
    page.click("form.transfer button[type=submit]")
    page.wait_for_url(re.compile(r"/queues/customer_care$"))
    expect(page.locator(".flash-ok")).to_contain_text("Transferred to Marketing")
    expect(page.locator(f"[data-item-id='{item_id}']")).to_have_count(0)
    # the API agrees: the item is in marketing with the reason in its history
    import json
    import urllib.request
    req = urllib.request.Request(f"{server.url}/api/v1/items/{item_id}",
                                 headers={"Authorization": f"Bearer {server.seeded['root']}"})
    detail = json.loads(urllib.request.urlopen(req, timeout=10).read())
    assert detail["item"]["team"] == "marketing"
    assert any(h["kind"] == "transfer" and h["data"].get("reason") == "Product feedback, not a support case"
               for h in detail["history"])
    assert any(n["text"] == "Called the customer, refund on its way" for n in detail["notes"])
    s.close()


def test_live_updates_between_two_browsers(browser: Any, server: LiveServer) -> None:
    """A claim in one browser removes the item from another agent's open queue, and a new mention
    appears there, without reloading."""
    from playwright.sync_api import expect
    a = Session(browser, server, "carla")
    b = Session(browser, server, "dario")
    a.go("/queues/customer_care")
    pb = b.go("/queues/customer_care")
    expect(pb.locator("body[data-live=open]")).to_have_count(1, timeout=5000)
    first = a.page.locator("[data-list=available] .item-row").first
    claimed_id = first.get_attribute("data-item-id")
    expect(pb.locator(f"[data-list=available] [data-item-id='{claimed_id}']")).to_have_count(1)
    pb.evaluate("window.__marker = 'no reload'")
    a.page.click("form[action$='/claim'] button[type=submit]")
    a.page.wait_for_url(re.compile(rf"/items/{claimed_id}$"))
    expect(pb.locator(f"[data-list=available] [data-item-id='{claimed_id}']")).to_have_count(0, timeout=5000)
    tag = uuid.uuid4().hex[:8]
    new_ids = _ingest(server, [Mention(source="live", platform="mastodon", external_id=f"live-{tag}", language="en",
                                       text=f"Fresh complaint {tag}: my order is broken")])
    expect(pb.locator(f"[data-item-id='{new_ids[0]}']")).to_contain_text(f"Fresh complaint {tag}", timeout=5000)
    assert pb.evaluate("window.__marker") == "no reload"
    b.shot("queue-live-updated")
    a.close()
    b.close()


def test_manager_dashboard_renders_charts(browser: Any, server: LiveServer) -> None:
    """The manager's dashboard draws bar charts from the data, filters by team, and exports one CSV row per item."""
    from playwright.sync_api import expect
    s = Session(browser, server, "mara", height=1100)
    page = s.go("/dashboard")
    charts = page.locator("svg.chart")
    assert charts.count() >= 4
    bars = page.locator("svg.chart rect.bar")
    assert bars.count() >= 8
    widths = [float(w) for w in bars.evaluate_all("els => els.map(e => e.getBBox().width)")]
    assert max(widths) > 50
    total = int(page.locator("[data-kpi=total]").inner_text().replace(",", ""))
    assert total >= 20
    expect(page.locator("svg.chart").nth(1)).to_contain_text("Customer care")
    s.shot("dashboard")
    page.select_option("#f-team", "hr")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"team=hr"))
    hr_total = int(page.locator("[data-kpi=total]").inner_text().replace(",", ""))
    assert 0 < hr_total < total
    with page.expect_download() as dl:
        page.click("a[href^='/dashboard/export.csv']")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    # mara is outside HR: its items are one row with their count, never listed
    assert len(rows) == 1 and rows[0]["team"] == "hr" and rows[0]["id"] == "" and int(rows[0]["items"]) == hr_total
    assert "text" not in rows[0]
    s.close()


def test_xss_payload_is_shown_as_text(browser: Any, server: LiveServer) -> None:
    """A mention carrying script and an onerror image is displayed literally and never executes."""
    from playwright.sync_api import expect
    s = Session(browser, server, "carla")
    page = s.go("/queues/customer_care")
    row = page.locator(".item-row", has_text="onerror")
    expect(row).to_have_count(1)
    expect(row).to_contain_text('<img src=x onerror="window.__xss=1">')
    row.locator("a").click()
    expect(page.locator(".mention-text")).to_have_text(XSS_TEXT)
    assert page.evaluate("typeof window.__xss") == "undefined"
    link = page.locator("a.original")
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    assert page.locator(".mention-text img, .mention-text script").count() == 0
    s.shot("item-xss-as-text")
    assert not s.dialogs
    s.close()


def test_hr_items_never_reach_a_customer_care_agent(browser: Any, server: LiveServer) -> None:
    """HR's queue, its items and their live updates stay invisible to customer care; the HR recruiter works them."""
    from playwright.sync_api import expect
    care = Session(browser, server, "carla")
    hr = Session(browser, server, "henry")
    pc = care.go("/queues")
    expect(pc.locator("nav.nav")).not_to_contain_text("HR")
    expect(pc.locator("table.queues")).not_to_contain_text("HR")
    pc.goto(server.url + "/queues/customer_care")
    expect(pc.locator("body[data-live=open]")).to_have_count(1, timeout=5000)
    tag = uuid.uuid4().hex[:8]
    hr_ids = _ingest(server, [Mention(source="live", platform="reddit", external_id=f"hr-{tag}", language="en",
                                      text=f"Secret salary question {tag}: job interview feedback?")])
    ph = hr.go("/queues/hr")
    expect(ph.locator(f"[data-item-id='{hr_ids[0]}']")).to_contain_text(f"Secret salary question {tag}")
    hr.shot("queue-hr")
    ph.locator(f"[data-item-id='{hr_ids[0]}'] a").click()
    ph.click("form[action$='/status'] button:has-text('Take it')")
    expect(ph.locator("h1")).to_contain_text("claimed")
    hr.shot("item-hr")
    pc.wait_for_timeout(1500)  # long enough for a live update to have arrived
    assert f"Secret salary question {tag}" not in pc.content()
    assert "interview" not in pc.content()
    for path in (f"/items/{hr_ids[0]}", "/queues/hr"):
        resp = pc.goto(server.url + path)
        assert resp is not None and resp.status == 404
        assert "salary" not in pc.content() and "interview" not in pc.content()
    care.shot("hr-item-refused-for-care")
    care.errors = [e for e in care.errors if "404" not in e]  # the two refused pages themselves
    care.close()
    hr.close()


def test_italian_interface_and_phone_layout(browser: Any, server: LiveServer) -> None:
    """A user whose language is Italian gets Italian labels and localised numbers; the item page fits a phone."""
    from playwright.sync_api import expect
    s = Session(browser, server, "marco")
    page = s.go("/queues")
    expect(page.locator("nav.nav")).to_contain_text("Code")
    expect(page.locator("h1")).to_have_text("Code")
    s.shot("queues-it")
    s.close()
    phone = Session(browser, server, "carla", width=390, height=844, locale="it-IT")
    page = phone.go("/queues/customer_care")
    page.locator(".item-row a").first.click()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    phone.shot("item-phone")
    phone.close()


def test_admin_creates_a_user_who_can_sign_in(browser: Any, server: LiveServer) -> None:
    """An admin creates an agent in the users page; the new agent signs in and sees their queue."""
    from playwright.sync_api import expect
    s = Session(browser, server, "root")
    page = s.go("/admin/users")
    page.fill("#u-name", "nina")
    page.fill("#u-display", "Nina Rossi")
    page.select_option("#u-role", "agent")
    page.check("input[name=teams][value=pr]")
    page.fill("#u-password", "a-long-password-1")
    page.click("form[action='/admin/users'] button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("nina")
    expect(page.locator("table")).to_contain_text("Nina Rossi")
    s.shot("admin-users")
    for path, name in (("/admin/teams", "admin-teams"), ("/admin/connectors", "admin-connectors"),
                       ("/admin/rules", "admin-rules"), ("/admin/models", "admin-models")):
        s.go(path)
        s.shot(name)
    s.close()
    ctx = browser.new_context()
    p = ctx.new_page()
    p.goto(server.url + "/login")
    p.fill("#login-name", "nina")
    p.fill("#login-password", "a-long-password-1")
    p.click("form[action='/login'] button[type=submit]")
    p.wait_for_url(re.compile(r"/queues$"))
    expect(p.locator("table.queues")).to_contain_text("PR")
    ctx.close()
