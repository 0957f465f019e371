"""Accessibility and layout of every page, for every role, in Chromium: axe-core (installed from the
npm registry into tests/e2e/axe by `npm ci --prefix tests/e2e/axe`, see .ci/run) run on each page
state in English and Italian, light and dark, must find no violation at the WCAG 2.1 A/AA tags;
no page scrolls sideways at 320, 390 or 1280 px (wide tables scroll inside their own box); the
visible text never shows a raw label, role or feature id; the single-key shortcuts can be turned off."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inbox.web.testing import PASSWORD, LiveServer, SeedUser, api_token, sample_mentions, seed_users

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests/e2e/axe/node_modules/axe-core/axe.min.js"
SHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("dario", "agent", ("customer_care",)),
         SeedUser("lena", "lead", ("customer_care",)), SeedUser("henry", "agent", ("hr",)),
         SeedUser("mara", "manager", ()), SeedUser("root", "admin", ()))
#: role → (user, the pages they use); "{care}" and "{hr}" are an item of that team, "{claimed}"
#: one claimed by dario (someone else, for carla and lena)
PAGES = {
    "agent": ("carla", ["/queues", "/queues/customer_care", "/items/{care}", "/items/{care}?features=1",
                        "/items/{claimed}", "/items/999999", "/settings/shortcuts", "/search?q=order&lang=en",
                        "/search?q=order&status=bogus", "/views?view=unassigned", "/notifications"]),
    "lead": ("lena", ["/queues", "/queues/customer_care", "/items/{claimed}", "/dashboard", "/notifications"]),
    "hr": ("henry", ["/queues", "/queues/hr", "/items/{hr}?features=1", "/notifications"]),
    "manager": ("mara", ["/dashboard", "/dashboard?period=30d&team=customer_care",
                         "/dashboard?from=2026-01-09&to=2026-01-01", "/reports",
                         "/reports/preview?audience=executive"]),
    "admin": ("root", ["/queues", "/admin/users", "/admin/users?edit=carla", "/admin/teams", "/admin/connectors",
                       "/admin/rules", "/admin/models", "/admin/briefs", "/reports", "/dashboard", "/items/{hr}"]),
}
#: ids and internal names that must never reach the reader
RAW = re.compile(r"customer_care|\[care_|\[hr_|\[mkt_|\[pr_|lex:|\bw:\w|round_robin|least_loaded")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import ExplainingKeywordClassifier, live_server
    tmp = tmp_path_factory.mktemp("a11y")

    async def seed(svc: Any) -> dict[str, Any]:
        from inbox.domain.types import UserInfo
        from inbox.storage.repo import items
        from inbox.work.item_actions import WorkService
        users = await seed_users(svc, USERS)
        result = await svc.pipeline.ingest(sample_mentions(n_care=8))
        async with svc.engine.connect() as conn:
            listed = [await items.get_item(i, conn=conn) for i in result.item_ids]
        care = [it.id for it in listed if it is not None and it.team == "customer_care"]
        hr = [it.id for it in listed if it is not None and it.team == "hr"]
        dario = UserInfo(id=users["dario"].id, name="dario", role="agent", teams=("customer_care",))
        work = WorkService(svc.engine, svc.settings, svc.clock)
        claimed = await work.claim_next(dario, "customer_care")
        # notifications for carla (/notifications): an assignment and an @name in a note
        from inbox.work import handover
        await handover.assign(work, users["lena"], [i for i in care if i != claimed.id][-1], "carla")
        await work.add_note(users["lena"], claimed.id, "@carla @dario can one of you call back?")
        return {"tokens": {n: await api_token(svc, u.id) for n, u in users.items()},
                "care": next(i for i in care if i != claimed.id), "claimed": claimed.id, "hr": hr[0]}

    # the settings file's path is shown on /admin/rules; a deep install path (CI checks out under
    # a longer one than a laptop) must wrap at 320 px rather than widen the page
    deep = "/srv/" + "/".join(["socialinboxinstallation"] * 4) + "/config/inbox.toml"
    with live_server("sqlite", tmp, seed, classifier=ExplainingKeywordClassifier(),
                     adjust=lambda s: s.model_copy(update={"config_file": deep})) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: npm ci --prefix tests/e2e/axe")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _signed_in(browser: Any, server: LiveServer, user: str, **ctx: Any) -> Any:
    context = browser.new_context(**ctx)
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("#login-name", user)
    page.fill("#login-password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r"/(queues|dashboard)"))
    return context, page


def _path(server: LiveServer, template: str) -> str:
    return template.format(**{k: v for k, v in server.seeded.items() if k != "tokens"})


def _axe(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("locale", ["en-US", "it-IT"])
@pytest.mark.parametrize("role", list(PAGES))
def test_axe_finds_no_wcag_violation(browser: Any, server: LiveServer, role: str, locale: str, scheme: str) -> None:
    """axe-core at wcag2a, wcag2aa, wcag21a and wcag21aa: zero violations on every page of the role,
    with the shortcut help open and the sign-in page too."""
    user, paths = PAGES[role]
    found: dict[str, Any] = {}
    anon = browser.new_context(locale=locale, color_scheme=scheme)
    login = anon.new_page()
    login.goto(server.url + "/login")
    found["/login"] = _axe(login)
    anon.close()
    context, page = _signed_in(browser, server, user, locale=locale, color_scheme=scheme,
                               viewport={"width": 1280, "height": 900})
    for template in paths:
        path = _path(server, template)
        page.goto(server.url + path)
        found[path] = _axe(page)
        if "features=1" in path:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"a11y-{role}-{locale}-{scheme}-item.png"), full_page=True)
    page.goto(server.url + "/queues")
    page.keyboard.press("?")
    page.wait_for_selector("dialog#shortcuts[open]")
    found["/queues + shortcut help"] = _axe(page)
    context.close()
    bad = {p: v for p, v in found.items() if v}
    assert not bad, json.dumps(bad, indent=1)


@pytest.mark.parametrize("width", [320, 390, 1280])
@pytest.mark.parametrize("role", list(PAGES))
def test_no_page_scrolls_sideways(browser: Any, server: LiveServer, role: str, width: int) -> None:
    """scrollWidth <= innerWidth on every page of the role (Italian, the longer words), phone to desktop."""
    user, paths = PAGES[role]
    context, page = _signed_in(browser, server, user, locale="it-IT", viewport={"width": width, "height": 800})
    wide = {}
    for template in paths:
        path = _path(server, template)
        page.goto(server.url + path)
        sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if sizes[0] > sizes[1]:
            wide[path] = sizes
        if width == 390 and path in ("/queues/customer_care", "/dashboard", "/admin/users", "/items/{care}"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"layout-{role}-{width}{path.replace('/', '-')}.png"), full_page=True)
    context.close()
    assert not wide, wide


@pytest.mark.parametrize("role", list(PAGES))
def test_tab_titles_are_short_plain_text(browser: Any, server: LiveServer, role: str) -> None:
    """The tab title names the page: a few words ending in the product name, no markup."""
    user, paths = PAGES[role]
    context, page = _signed_in(browser, server, user, locale="it-IT")
    bad = {}
    for template in paths:
        path = _path(server, template)
        page.goto(server.url + path)
        title = page.title()
        if "<" in title or len(title) > 80 or not title.endswith("social-inbox"):
            bad[path] = title[:120]
    context.close()
    assert not bad, bad


@pytest.mark.parametrize("locale", ["en-US", "it-IT"])
@pytest.mark.parametrize("role", list(PAGES))
def test_pages_show_names_not_ids(browser: Any, server: LiveServer, role: str, locale: str) -> None:
    """No label id, cue group or feature name in what the reader sees, on any page of the role."""
    user, paths = PAGES[role]
    context, page = _signed_in(browser, server, user, locale=locale)
    shown = {}
    for template in paths:
        path = _path(server, template)
        page.goto(server.url + path)
        # what people read: code the admin edits (TOML in pre, code, textarea) may name ids
        text = page.evaluate("""() => { const b = document.body.cloneNode(true);
            b.querySelectorAll('pre, code, textarea, script').forEach(e => e.remove());
            return b.textContent; }""")
        hits = RAW.findall(text)
        if hits:
            shown[path] = hits
    context.close()
    assert not shown, shown
