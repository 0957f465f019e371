"""The admin editors in headless Chromium, in English and Italian: a rule refused with its errors
inline and the typed text kept, then saved (a version), tested on a text, and rolled back; a
connector refused and saved from the Italian page; secrets shown as set or not, never their value."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from inbox.web.testing import LiveServer, SeedUser, sample_mentions, seed_users
from tests.e2e.test_browser import Session

pytestmark = pytest.mark.browser

USERS = (SeedUser("root", "admin", ()), SeedUser("radice", "admin", (), "it"),
         SeedUser("carla", "agent", ("customer_care",)))
BAD_RULE = 'name = "zz-rule"\nkeywords = ["zanzibar"]\nteam = "nowhere"\npriority = 9\n'
GOOD_RULE = 'name = "zz-rule"\nkeywords = ["zanzibar"]\nteam = "marketing"\npriority = 3\n'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import ExplainingKeywordClassifier, live_server
    tmp = tmp_path_factory.mktemp("e2e-admin")

    async def seed(svc: Any) -> None:
        await seed_users(svc, USERS)
        await svc.pipeline.ingest(sample_mentions(n_care=3, with_xss=False))

    with live_server("sqlite", tmp, seed, classifier=ExplainingKeywordClassifier()) as srv:
        yield srv


def _close(s: Session) -> None:
    """A refused form answers 422 with the page (Chromium logs that status): only those are expected."""
    s.errors[:] = [e for e in s.errors if "status of 422" not in e]
    s.close()


def test_rules_edited_tested_and_rolled_back_in_english(browser: Any, server: LiveServer) -> None:
    from playwright.sync_api import expect
    s = Session(browser, server, "root")
    page = s.go("/admin/rules")
    page.fill("#entry-rules", BAD_RULE)
    page.click("form.editor button[value=save]")
    errors = page.locator("#entry-errors")
    expect(errors).to_contain_text("priority")
    expect(page.locator("#entry-rules")).to_have_value(BAD_RULE)  # the input is kept
    assert page.locator("#entry-rules").get_attribute("aria-invalid") == "true"
    assert server.svc.settings.rules == server.settings.rules  # nothing saved
    page.fill("#entry-rules", BAD_RULE.replace("9", "3"))
    page.click("form.editor button[value=save]")
    expect(page.locator("#entry-errors")).to_contain_text("nowhere")
    page.fill("#entry-rules", GOOD_RULE)
    page.click("form.editor button[value=save]")
    expect(page.locator(".flash-ok")).to_contain_text("Saved as version")
    expect(page.locator("li[data-entry='zz-rule']")).to_have_count(1)
    # Delete asks first; cancelled, nothing is sent
    page.remove_listener("dialog", s._dialog)
    asked: list[str] = []

    def cancel(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()
    page.once("dialog", cancel)
    page.locator("li[data-entry='zz-rule'] form button").click()
    expect(page.locator(".flash-ok")).to_contain_text("Saved as version")  # still the page of the save
    assert asked == ["Delete zz-rule? A new version without it is applied on every instance; rolling back to "
                     "the version before brings it back."]
    assert any(r.name == "zz-rule" for r in server.svc.settings.rules)
    page.on("dialog", s._dialog)
    page.fill("#try-text", "a question about zanzibar")
    page.click("#try-rules button[type=submit]")
    expect(page.locator("dl.decision")).to_contain_text("zz-rule")
    assert page.locator("dl.decision dd[data-team]").get_attribute("data-team") == "marketing"
    s.shot("admin-rules-editor")
    page.locator("ol.history form button").first.click()
    expect(page.locator(".flash-ok")).to_contain_text("Rolled back")
    expect(page.locator("li[data-entry='zz-rule']")).to_have_count(0)
    _close(s)


def test_connector_refused_then_saved_in_italian(browser: Any, server: LiveServer) -> None:
    from playwright.sync_api import expect
    s = Session(browser, server, "radice", locale="it-IT")
    page = s.go("/admin/connectors")
    expect(page.locator("#editor h2")).to_have_text("Modifica")
    bad = 'name = "piccione"\ntype = "carrier-pigeon"\n'
    page.fill("#entry-connectors", bad)
    page.click("form.editor button[value=save]")
    expect(page.locator("#entry-errors")).to_contain_text("type")
    expect(page.locator("#entry-errors")).to_contain_text("deve essere uno tra 'mastodon'")  # in Italian
    expect(page.locator("#entry-connectors")).to_have_value(bad)
    s.shot("admin-connectors-refused-it")
    good = ('name = "notizie"\ntype = "rss"\nfeeds = ["https://example.org/feed.xml"]\n'
            'token_env = "GOV_E2E_UNSET_TOKEN"\n')
    page.fill("#entry-connectors", good)
    page.click("form.editor button[value=save]")
    expect(page.locator(".flash-ok")).to_contain_text("Salvato come versione")
    expect(page.locator("ul.secrets")).to_contain_text("non impostata")
    assert server.svc.settings.connector("notizie") is not None
    page.click("li[data-entry='notizie'] a")
    page.wait_for_url(re.compile(r"edit=notizie"))
    expect(page.locator("#entry-connectors")).to_have_value(re.compile("example.org"))
    s.shot("admin-connectors-editor-it")
    _close(s)


def test_agents_cannot_use_the_editors(browser: Any, server: LiveServer) -> None:
    s = Session(browser, server, "carla")
    resp = s.page.goto(server.url + "/admin/rules")
    assert resp is not None and resp.status == 403
    s.ctx.close()


def test_audit_trail_filtered_in_both_languages(browser: Any, server: LiveServer) -> None:
    """The changes made above are in the audit page, filtered by kind and actor; a bad date is
    refused next to the form with the filters kept; Italian labels for an Italian admin."""
    from playwright.sync_api import expect
    s = Session(browser, server, "root")
    page = s.go("/admin/audit?kind=config_changed&actor=root")
    expect(page.locator("tr[data-kind='config_changed']").first).to_contain_text("zz-rule")
    assert page.locator("tr[data-kind]").count() == page.locator("tr[data-kind='config_changed']").count()
    page.fill("#a-item", "abc")
    page.click("form.filters button[type=submit]")
    expect(page.locator(".field-errors")).to_contain_text("The item is a number")
    expect(page.locator("#a-kind")).to_have_value("config_changed")
    s.shot("admin-audit-refused-filter")
    _close(s)
    it = Session(browser, server, "radice", locale="it-IT")
    page = it.go("/admin/audit?actor=radice")
    expect(page.locator("section.card h2")).to_have_text("Registro delle modifiche")
    expect(page.locator("tr[data-kind='config_changed']").first).to_contain_text("notizie")
    it.shot("admin-audit-it")
    _close(it)


def test_team_refused_then_saved_in_italian(browser: Any, server: LiveServer) -> None:
    """A team's retention and SLA edited from the Italian page: a bad duration refused in Italian
    with the text kept, then saved as a version in force."""
    from playwright.sync_api import expect
    s = Session(browser, server, "radice", locale="it-IT")
    page = s.go("/admin/teams?edit=marketing")
    typed = page.locator("#entry-teams").input_value()
    assert 'name = "marketing"' in typed and 'sla_resolution = "3d"' in typed
    bad = typed + 'retention = "forever"\n'
    page.fill("#entry-teams", bad)
    page.click("form.editor button[value=save]")
    expect(page.locator("#entry-errors")).to_contain_text("non è una durata")
    expect(page.locator("#entry-teams")).to_have_value(bad)
    s.shot("admin-teams-refused-it")
    page.fill("#entry-teams", typed + 'retention = "180d"\n')
    page.click("form.editor button[value=save]")
    expect(page.locator(".flash-ok")).to_contain_text("Salvato come versione")
    expect(page.locator("li[data-entry='marketing'] pre")).to_contain_text('retention = "180d"')  # as typed
    expect(page.locator("li[data-entry='customer_care'] pre")).to_contain_text('sla_first_response = "1h"')
    team = server.svc.settings.team("marketing")
    assert team is not None and team.retention is not None and team.retention.days == 180
    asked = len(s.dialogs)
    page.locator("li[data-entry='pr'] form button").click()  # the routing sends the pr label there
    errors = page.locator("#entry-errors")
    expect(errors).to_contain_text("non eliminato")
    expect(errors).to_contain_text("routing.label_to_team.pr")
    expect(errors).to_contain_text("non è definito")
    expect(page.locator("li[data-entry='pr']")).to_have_count(1)  # the page, with the team still listed
    assert s.dialogs[asked:] and s.dialogs[asked].startswith("Eliminare pr?"), s.dialogs  # asked first
    s.shot("admin-teams-delete-refused-it")
    assert server.svc.settings.team("pr") is not None
    _close(s)
