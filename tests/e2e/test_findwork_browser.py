"""Finding and handing over work in headless Chromium, in English and Italian, at 1280 and 390 px:
the header's search box (`/` focuses it) and the results page, assign and reopen through the app.
No page scrolls sideways, and HR items never show for a customer care agent."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import Mention
from inbox.web.testing import LiveServer, SeedUser, api_token, sample_mentions, seed_users
from tests.e2e.test_browser import Session

pytestmark = pytest.mark.browser

USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("dario", "agent", ("customer_care",)),
         SeedUser("lea", "lead", ("customer_care",)), SeedUser("henry", "agent", ("hr",)))
TAG = uuid.uuid4().hex[:6]
TEXTS = {"it": f"Il mio ordine {TAG} non è arrivato, perché? <b>ciao</b>",
         "hr": f"colloquio di lavoro {TAG}, perché nessuno risponde?"}
VIEWS = [("en-US", 1280), ("en-US", 390), ("it-IT", 1280), ("it-IT", 390)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import ExplainingKeywordClassifier, live_server
    tmp = tmp_path_factory.mktemp("e2e-find")

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, USERS)
        await svc.pipeline.ingest(sample_mentions(n_care=6))
        res = await svc.pipeline.ingest([
            Mention(source="s", platform="reddit", external_id="it", language="it", text=TEXTS["it"]),
            Mention(source="s", platform="reddit", external_id="hr", language="it", text=TEXTS["hr"])])
        return {"tokens": {n: await api_token(svc, u.id) for n, u in users.items()}, "ids": res.item_ids}

    with live_server("sqlite", tmp, seed, classifier=ExplainingKeywordClassifier()) as srv:
        yield srv


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth") == width


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=[f"{loc}-{w}" for loc, w in VIEWS])
def test_search_box_finds_folded_words_and_never_hr(browser: Any, server: LiveServer, locale: str, width: int) -> None:
    from playwright.sync_api import expect
    s = Session(browser, server, "carla", width=width, height=900, locale=locale)
    page = s.go("/queues")
    page.keyboard.press("/")
    expect(page.locator("#site-search")).to_be_focused()
    page.keyboard.type(f"perche {TAG}")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?"))
    results = page.locator(".search-results .item-row")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(f"ordine {TAG}")
    expect(results.first.locator("mark").first).to_have_text(re.compile("perché|" + TAG))
    assert results.first.locator("b").count() == 0  # the mention's markup is text
    expect(results.first).to_contain_text("<b>ciao</b>")
    assert "colloquio" not in page.content()
    expect(page.locator("h1")).to_have_text("Cerca" if locale.startswith("it") else "Search")
    _fits(page, width)
    page.select_option("#search-status", "closed")
    page.click(".search-form button[type=submit]")
    expect(page.locator(".search-results .empty")).to_have_count(1)
    _fits(page, width)
    s.shot(f"search-{locale}-{width}")
    s.close()


def test_hr_recruiter_finds_hr_items(browser: Any, server: LiveServer) -> None:
    from playwright.sync_api import expect
    s = Session(browser, server, "henry")
    page = s.go(f"/search?q=colloquio+{TAG}")
    expect(page.locator(".search-results .item-row")).to_have_count(1)
    s.close()


def _care_item(server: LiveServer, text: str) -> int:
    async def run() -> int:
        res = await server.svc.pipeline.ingest([Mention(source="s", platform="reddit", external_id=uuid.uuid4().hex,
                                                        language="en", text=text)])
        return int(res.item_ids[0])
    return server.call(run)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=[f"{loc}-{w}" for loc, w in VIEWS])
def test_lead_assigns_and_agent_reopens(browser: Any, server: LiveServer, locale: str, width: int) -> None:
    from playwright.sync_api import expect
    item = _care_item(server, f"my order {uuid.uuid4().hex[:6]} is broken, refund please")
    agent = Session(browser, server, "carla", width=width, height=900, locale=locale)
    page = agent.go(f"/items/{item}")
    assert page.locator("#assign-user").count() == 0  # agents do not assign to others
    agent.close()
    lead = Session(browser, server, "lea", width=width, height=900, locale=locale)
    page = lead.go(f"/items/{item}")
    page.select_option("#assign-user", "dario")
    page.click("form[action$='/assign'] button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("dario")
    _fits(page, width)
    lead.shot(f"assigned-{locale}-{width}")
    page.click("form[action$='/status'] button[data-action=resolve]")
    page.goto(f"{server.url}/items/{item}")
    page.click("form[action$='/reopen'] button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("Riaperto" if locale.startswith("it") else "Reopened")
    expect(page.locator("form[action$='/reopen']")).to_have_count(0)
    _fits(page, width)
    lead.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=[f"{loc}-{w}" for loc, w in VIEWS])
def test_views_show_who_holds_what_and_never_hr(browser: Any, server: LiveServer, locale: str, width: int) -> None:
    from playwright.sync_api import expect
    item = _care_item(server, f"my order {uuid.uuid4().hex[:6]} is broken, refund please")
    dario = Session(browser, server, "dario", width=width, height=900, locale=locale)
    dario.go(f"/items/{item}").click("form[action$='/status'] button.primary")
    dario.close()
    s = Session(browser, server, "carla", width=width, height=900, locale=locale)
    for view in ("mine", "open", "unassigned", "others", "waiting", "resolved", "triage"):
        for sort in ("priority", "age", "due"):
            page = s.go(f"/views?view={view}&sort={sort}")
            assert "colloquio" not in page.content()
            _fits(page, width)
    page = s.go("/views?view=others")
    expect(page.locator(f"[data-item-id='{item}']")).to_contain_text("dario")
    expect(page.locator("nav.nav a[href='/views']")).to_have_text("Viste" if locale.startswith("it") else "Views")
    s.shot(f"views-others-{locale}-{width}")
    assert s.go("/views?view=open&team=hr").url.endswith("team=hr")  # refused, and nothing shown
    assert "colloquio" not in s.page.content()
    s.errors = [e for e in s.errors if "404" not in e]
    s.close()


@pytest.mark.parametrize(("locale", "width"), [("en-US", 1280), ("it-IT", 390)], ids=["en-1280", "it-390"])
def test_copies_show_as_similar_and_resolve_together(browser: Any, server: LiveServer, locale: str, width: int) -> None:
    from playwright.sync_api import expect
    tag = uuid.uuid4().hex[:6]
    ids = [_care_item(server, f"RT the app lost my order {tag}, refund now! https://x.example/{i}") for i in range(3)]
    s = Session(browser, server, "carla", width=width, height=900, locale=locale)
    page = s.go("/views?view=unassigned&sort=age")
    expect(page.locator(f"[data-item-id='{ids[0]}'] .badge.similar")).to_have_text(
        "+2 simili" if locale.startswith("it") else "+2 similar")
    _fits(page, width)
    page = s.go(f"/items/{ids[1]}")  # a copy: the reply goes to the original, from its page
    assert page.locator("#composer").count() == 0
    expect(page.locator(f".copy-of a[href='/items/{ids[0]}']")).to_have_count(1)
    _fits(page, width)
    page = s.go(f"/items/{ids[0]}")
    assert page.locator(".copy-of").count() == 0 and page.locator("#composer").count() == 1
    if locale.startswith("it"):
        page.click("form[action$='/resolve-similar'] button")
    else:  # the plain resolve resolves the copies too
        page.click("form[action$='/status'] button[data-action=resolve]")
    expect(page.locator(".flash-ok")).to_contain_text("2")
    for i in ids:
        assert s.go(f"/items/{i}").locator("form[action$='/reopen']").count() == 1  # each one resolved
    s.close()


_AS = [("en-US", 1280, "carla"), ("it-IT", 390, "carla"), ("en-US", 390, "lea"), ("it-IT", 1280, "lea")]


def _queue_counts(page: Any) -> tuple[int, int]:
    """(unclaimed, open) of the queue page's counts line."""
    nums = re.findall(r"\d+", page.inner_text("p.counts"))
    return int(nums[0]), int(nums[1])


@pytest.mark.parametrize(("locale", "width", "user"), _AS, ids=[f"{loc}-{w}-{u}" for loc, w, u in _AS])
def test_the_queue_counts_copies_once(browser: Any, server: LiveServer, locale: str, width: int, user: str) -> None:
    """As agent and lead: three copies of one post add one to the queue's unclaimed and open counts
    (live), show "+2 similar", and resolving the original takes all three away."""
    from playwright.sync_api import expect
    it = locale.startswith("it")
    s = Session(browser, server, user, width=width, height=900, locale=locale)
    page = s.go("/queues/customer_care")
    expect(page.locator("body[data-live=open]")).to_have_count(1)
    before = _queue_counts(page)
    tag = uuid.uuid4().hex[:6]
    ids = [_care_item(server, f"RT the app lost my parcel {tag}, refund now! https://x.example/{i}") for i in range(3)]
    def counts(unclaimed: int, open_: int) -> str:
        return f"{unclaimed} da prendere in carico · {open_} aperti" if it else f"{unclaimed} unclaimed · {open_} open"
    expect(page.locator("p.counts")).to_contain_text(counts(before[0] + 1, before[1] + 1), timeout=15_000)
    expect(page.locator(f"[data-item-id='{ids[1]}']")).to_have_count(0)
    _fits(page, width)
    page = s.go("/views?view=unassigned&sort=age")
    expect(page.locator(f"[data-item-id='{ids[0]}'] .badge.similar")).to_have_text("+2 simili" if it else "+2 similar")
    _fits(page, width)
    page = s.go(f"/items/{ids[0]}")
    _fits(page, width)
    page.click("form[action$='/status'] button[data-action=resolve]")
    expect(page.locator(".flash-ok")).to_contain_text("2")
    page = s.go("/queues/customer_care")  # the counts may be a second behind: the page reads them again
    expect(page.locator("p.counts")).to_contain_text(counts(*before), timeout=15_000)
    _fits(page, width)
    s.shot(f"queue-copies-{locale}-{width}-{user}")
    s.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=[f"{loc}-{w}" for loc, w in VIEWS])
def test_search_filters_narrow_and_are_kept(browser: Any, server: LiveServer, locale: str, width: int) -> None:
    """Every filter of the API is on the page (the rarer ones under "More filters"), each narrows
    the results and is kept on the next page; HR's label is not offered to customer care."""
    from playwright.sync_api import expect
    s = Session(browser, server, "carla", width=width, height=900, locale=locale)
    page = s.go(f"/search?q={TAG}")
    results = page.locator(".search-results .item-row")
    expect(results).to_have_count(1)
    expect(page.locator("details.more-filters")).not_to_have_attribute("open", "")
    assert page.locator("#search-label option[value=hr]").count() == 0
    assert page.locator("#search-assignee option[value=henry]").count() == 0
    page.click("details.more-filters summary")
    _fits(page, width)

    def narrowed(field: str, value: str, found: int, *, fill: bool = False) -> None:
        if fill:
            page.fill(field, value)
        else:
            page.select_option(field, value)
        page.click(".search-form button[type=submit]")
        expect(page.locator(".search-results .item-row")).to_have_count(found)
        expect(page.locator(field)).to_have_value(value)  # kept
        expect(page.locator("details.more-filters")).to_have_attribute("open", "")

    narrowed("#search-lang", "en", 0)
    narrowed("#search-lang", "it", 1)
    narrowed("#search-assignee", "dario", 0)
    narrowed("#search-assignee", "none", 1)
    narrowed("#search-label", "marketing", 0)
    narrowed("#search-label", "", 1)
    narrowed("#search-source", "elsewhere", 0, fill=True)
    narrowed("#search-source", "s", 1, fill=True)
    narrowed("#search-until", "2000-01-01", 0, fill=True)
    narrowed("#search-until", "", 1, fill=True)
    narrowed("#search-since", "2000-01-01", 1, fill=True)
    other = "0" if page.locator(".search-results .badge.prio-2, .search-results .badge.prio-3").count() else "3"
    narrowed("#search-priority", other, 0)
    narrowed("#search-status", "resolved", 0)
    assert "colloquio" not in page.content()
    _fits(page, width)
    s.shot(f"search-filters-{locale}-{width}")
    s.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=[f"{loc}-{w}" for loc, w in VIEWS])
def test_bulk_selection_with_mouse_and_key_shows_each_result(browser: Any, server: LiveServer, locale: str,
                                                             width: int) -> None:
    """A lead checks one row with the mouse and one with `x`, assigns both to dario: each result is
    listed; an agent's assign to someone else is refused item by item with the reason, in words."""
    from playwright.sync_api import expect
    it = locale.startswith("it")
    a, b, c = (_care_item(server, f"my order {uuid.uuid4().hex[:6]} is broken, refund please") for _ in range(3))
    lead = Session(browser, server, "lea", width=width, height=900, locale=locale)
    page = lead.go("/views?view=unassigned&sort=age")
    assert page.locator(".item-row input[data-select]").count() >= 3
    assert "colloquio" not in page.content()
    page.check(f"[data-item-id='{a}'] input[data-select]")
    page.focus(f"[data-item-id='{b}'] .item-link")
    page.keyboard.press("x")
    expect(page.locator(f"[data-item-id='{b}'] input[data-select]")).to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("2 selezionati" if it else "2 selected")
    _fits(page, width)
    lead.shot(f"bulk-selected-{locale}-{width}")
    page.select_option("#bulk-action", "assign")
    page.select_option("#bulk-user", "dario")
    page.fill("#bulk-reason", "dario covers the morning")  # past his capacity: the other tests gave him items
    page.click("#bulk-form button[type=submit]")
    rows = page.locator(".bulk-results .item-row")
    expect(rows).to_have_count(2)
    expect(page.locator(".bulk-results [data-ok=yes]")).to_have_count(2)
    expect(rows.first).to_contain_text("dario")
    _fits(page, width)
    lead.close()
    agent = Session(browser, server, "carla", width=width, height=900, locale=locale)
    page = agent.go("/views?view=unassigned&sort=age")
    page.check(f"[data-item-id='{c}'] input[data-select]")
    page.select_option("#bulk-action", "assign")
    page.select_option("#bulk-user", "dario")
    page.click("#bulk-form button[type=submit]")
    refused = page.locator(f".bulk-results [data-item-id='{c}']")
    expect(refused).to_have_attribute("data-ok", "no")
    expect(refused).to_contain_text("Solo un capo squadra" if it else "Only a lead of the team")
    page.click("text=" + ("Torna alla vista" if it else "Back to the view"))
    page.check(f"[data-item-id='{c}'] input[data-select]")
    page.select_option("#bulk-action", "resolve")
    page.click("#bulk-form button[type=submit]")
    expect(page.locator(f".bulk-results [data-item-id='{c}']")).to_have_attribute("data-ok", "yes")
    _fits(page, width)
    agent.shot(f"bulk-results-{locale}-{width}")
    agent.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=[f"{loc}-{w}" for loc, w in VIEWS])
def test_saved_views_are_saved_listed_opened_and_deleted(browser: Any, server: LiveServer, locale: str,
                                                          width: int) -> None:
    """An agent saves a search and a view under names, finds both listed on either page, opens one
    (its filters come back) and deletes it; the list is theirs alone and never shows HR items."""
    from playwright.sync_api import expect
    it = locale.startswith("it")
    name = f"refunds {uuid.uuid4().hex[:4]}"
    s = Session(browser, server, "carla", width=width, height=900, locale=locale)
    page = s.go(f"/search?q=perche+{TAG}&status=open&lang=it")
    page.fill("#save-view-name", name)
    page.click("form.save-view button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text(name)
    expect(page.locator(".search-results .item-row")).to_have_count(1)
    page = s.go("/views?view=unassigned&sort=age")
    page.fill("#save-view-name", name)  # the same name again: refused, the name kept
    page.click("form.save-view button[type=submit]")
    expect(page.locator(".flash-error")).to_contain_text(
        "Hai già una vista salvata" if it else "already have a saved view")
    expect(page.locator("#save-view-name")).to_have_value(name)
    page.fill("#save-view-name", name + " (age)")
    page.click("form.save-view button[type=submit]")
    saved = page.locator(".saved-list li")
    expect(saved.filter(has_text=name)).to_have_count(2)
    _fits(page, width)
    s.shot(f"saved-views-{locale}-{width}")
    page.click(f".saved-list a:text-is('{name}')")
    page.wait_for_url(re.compile(r"/search\?"))
    expect(page.locator("#search-lang")).to_have_value("it")
    expect(page.locator("#search-status")).to_have_value("open")
    expect(page.locator(".search-results .item-row")).to_have_count(1)
    assert "colloquio" not in page.content()
    for label in (name, name + " (age)"):
        page.locator(".saved-list li", has_text=label).filter(
            has=page.locator(f"a:text-is('{label}')")).locator("button[type=submit]").click()
        expect(page.locator(".flash-ok")).to_have_count(1)
    expect(page.locator(".saved-list a", has_text=name)).to_have_count(0)
    _fits(page, width)
    s.close()
    other = Session(browser, server, "dario", width=width, height=900, locale=locale)
    assert name not in other.go("/views").content()
    other.close()
