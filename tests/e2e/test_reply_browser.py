"""The reply composer in headless Chromium against the real server, with the five platforms' write APIs
faked on loopback (tests/replies_platform.py): counting as the platform counts, a canned response
with its placeholders filled, preview, the reply's status changing live to sent; a failed reply
showing the platform's reason and a retry button (Italian); a PR reply approved by a lead
(Italian); a source without a write API saying so with the composer disabled."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from connectors.base import Mention
from inbox.domain.reply_text import reply_length
from inbox.storage.repo._common import T_MENTION
from inbox.web.testing import LiveServer, SeedUser, seed_users
from tests.e2e.test_browser import Session
from tests.replies_platform import ENV, FakePlatforms, connector_tables, free_port, parent_mentions

pytestmark = pytest.mark.browser

X_SAMPLES = ("see example.com", "see www.example.it and example.it/x.", "see example.it", "mail me@example.com",
             "http://a.b/c example.com", "https://a.org/x.com", "e.g. v1.2 ok", "日本 👨‍👩‍👧 café example.io/a?b=1")
MASTODON_SAMPLES = ("@giulia@other.example ciao", "see example.com https://example.org/" + "x" * 40,
                    "@a@b.c @d e@f.g")

USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("piero", "agent", ("pr",)),
         SeedUser("lea", "lead", ("pr",)))



@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from inbox.domain.types import UserInfo
    from inbox.work.item_actions import WorkService
    from tests.conftest import ExplainingKeywordClassifier, live_server
    tmp = tmp_path_factory.mktemp("replies-e2e")
    port = free_port()
    fake = FakePlatforms()

    async def seed(svc: Any) -> dict[str, int]:
        await seed_users(svc, USERS)
        runner = web.AppRunner(fake.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await svc.pipeline.ingest([*parent_mentions(), Mention(
            source="import", platform="import", external_id="imp-1", text="my order never came, help",
            url="https://example.org/post/1")])
        async with svc.engine.connect() as conn:
            ids = {src: i for i, src in await conn.execute(select(T_MENTION.c.id, T_MENTION.c.source))}
        work = WorkService(svc.engine, svc.settings, svc.clock)
        root = UserInfo(id=0, name="root", role="admin", teams=())
        for source, iid in ids.items():
            item = await work.get(root, iid)
            want = "pr" if source == "mastodon" else "customer_care"
            if item.team != want:
                await work.transfer(root, iid, want, "belongs there")
        return ids

    with pytest.MonkeyPatch.context() as mp:
        for k, v in ENV.items():
            mp.setenv(k, v)
        with live_server("sqlite", tmp, seed, classifier=ExplainingKeywordClassifier(),
                         connectors=connector_tables(f"http://127.0.0.1:{port}")) as srv:
            yield {"server": srv, "fake": fake, "ids": srv.seeded}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_browser import ARGS, CHROMIUM
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _send(world: dict[str, Any]) -> Any:
    srv: LiveServer = world["server"]
    return srv.call(srv.svc.ready_reply_sender().run_once)


def test_composer_counts_fills_previews_and_shows_sent_live(browser: Any, world: dict[str, Any]) -> None:
    from playwright.sync_api import expect
    s = Session(browser, world["server"], "carla")
    page = s.go(f"/items/{world['ids']['x']}")
    page.fill("#reply-text", "a" * 281)
    expect(page.locator("#reply-count")).to_have_text("281")
    expect(page.locator("#reply-over")).to_be_visible()
    expect(page.locator("#reply-send")).to_be_disabled()
    page.fill("#reply-text", "see https://example.org/" + "x" * 200)   # a link counts 23 on X
    expect(page.locator("#reply-count")).to_have_text(str(4 + 23))
    for sample in X_SAMPLES:                                           # the page counts as the server does
        page.fill("#reply-text", sample)
        expect(page.locator("#reply-count")).to_have_text(str(reply_length("x", sample)))
    page = s.go(f"/items/{world['ids']['bluesky']}")
    page.fill("#reply-text", "👍🏽" * 300)                                # 300 graphemes: allowed on Bluesky
    expect(page.locator("#reply-count")).to_have_text("300")
    expect(page.locator("#reply-send")).to_be_enabled()
    page = s.go(f"/items/{world['ids']['reddit']}")
    page.select_option("#canned", index=1)
    expect(page.locator("#reply-text")).to_have_value(re.compile(r"^Hi @redditor42, .*I'm carla"))
    expect(page.locator("#reply-preview")).to_contain_text("Hi @redditor42")
    page.fill("#reply-text", "Hi @redditor42, <b>sorry</b> — a replacement is on its way")
    expect(page.locator("#reply-preview")).to_have_text("Hi @redditor42, <b>sorry</b> — a replacement is on its way")
    page.click("#reply-send")
    expect(page.locator(".flash-ok")).to_contain_text("Reply queued")
    reply = page.locator("#reply-list .reply").first
    expect(reply).to_have_attribute("data-reply-status", "queued")
    assert _send(world)["sent"] >= 1
    expect(page.locator("#reply-list .reply").first).to_have_attribute("data-reply-status", "sent", timeout=10_000)
    expect(page.locator("#reply-list .reply-text").first).to_have_text(
        "Hi @redditor42, <b>sorry</b> — a replacement is on its way")
    sent = world["fake"].delivered("reddit")
    assert len(sent) == 1 and sent[0]["data"]["text"].startswith("Hi @redditor42, <b>sorry</b>")
    page.reload()   # the first reply went out: the first-response countdown has stopped
    expect(page.locator(".sla-first")).to_contain_text("within the SLA")
    s.shot("reply-sent")
    with pytest.MonkeyPatch.context() as mp:   # a credential variable that is not set: the composer says so
        mp.delenv("T_YOUTUBE")
        page = s.go(f"/items/{world['ids']['youtube']}")
        expect(page.locator(".reply-unavailable")).to_contain_text("the credential variable T_YOUTUBE is not set")
        expect(page.locator("#reply-text")).to_be_disabled()
        expect(page.locator("#reply-send")).to_be_disabled()
    page = s.go(f"/items/{world['ids']['import']}")
    expect(page.locator(".reply-unavailable")).to_contain_text("no write API")
    expect(page.locator(".reply-unavailable a")).to_have_attribute("href", "https://example.org/post/1")
    expect(page.locator("#reply-text")).to_be_disabled()
    expect(page.locator("#reply-send")).to_be_disabled()
    s.close()


def test_failed_reply_shows_the_reason_and_retries_in_italian(browser: Any, world: dict[str, Any]) -> None:
    from playwright.sync_api import expect
    world["fake"].script["/x/2/tweets"] = [(403, {}, {"title": "Forbidden", "status": 403,
                                                      "detail": "You are not allowed to reply to this Tweet."})]
    s = Session(browser, world["server"], "carla", locale="it-IT")
    page = s.go(f"/items/{world['ids']['x']}")
    expect(page.locator("#replies-title")).to_have_text("Risposte")
    expect(page.locator(".counter")).to_contain_text("caratteri (ponderati, un link conta 23)")
    page.select_option("#canned", label="Grazie, ci pensiamo noi (IT)")
    expect(page.locator("#reply-text")).to_have_value(
        re.compile(r"^Ciao @dana_k, grazie della segnalazione\. Sono carla"))
    expect(page.locator("#reply-preview")).to_contain_text("Ciao @dana_k")
    page.fill("#reply-text", "日本" * 70 + "a")                              # CJK weighs 2 on X: 281
    expect(page.locator("#reply-count")).to_have_text("281")
    expect(page.locator("#reply-over")).to_contain_text("Troppo lunga")
    expect(page.locator("#reply-send")).to_be_disabled()
    page.fill("#reply-text", "Ciao, ce ne occupiamo noi")
    page.click("#reply-send")
    expect(page.locator(".flash-ok")).to_contain_text("Risposta in coda")
    _send(world)
    reply = page.locator("#reply-list .reply").first
    expect(reply).to_have_attribute("data-reply-status", "failed", timeout=10_000)
    expect(reply.locator(".reply-status")).to_have_text("non riuscita")
    expect(reply.locator(".reply-error")).to_contain_text("La piattaforma l'ha rifiutata: HTTP 403")
    expect(reply.locator(".reply-error")).to_contain_text("not allowed to reply")
    s.shot("reply-failed-it")
    reply.locator("button.retry").click()
    expect(page.locator(".flash-ok")).to_contain_text("Risposta rimessa in coda")
    _send(world)
    expect(page.locator("#reply-list .reply").first).to_have_attribute("data-reply-status", "sent", timeout=10_000)
    assert len(world["fake"].delivered("x")) == 1
    page.reload()
    expect(page.locator(".sla-first")).to_contain_text("entro lo SLA")
    # a reply that fails before reaching the platform (its credential was removed meanwhile) is not
    # presented as the platform's refusal, and its reason reads in Italian
    page.fill("#reply-text", "Un'altra cosa")
    page.click("#reply-send")
    expect(page.locator(".flash-ok")).to_contain_text("Risposta in coda")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("T_X")
        _send(world)
    failed = page.locator("#reply-list .reply").nth(1)
    expect(failed).to_have_attribute("data-reply-status", "failed", timeout=10_000)
    expect(failed.locator(".reply-error")).to_have_text(
        "Non è riuscita: la variabile della credenziale T_X non è impostata")
    assert len(world["fake"].delivered("x")) == 1
    s.close()


def test_pr_reply_waits_for_the_leads_approval(browser: Any, world: dict[str, Any]) -> None:
    from playwright.sync_api import expect
    iid = world["ids"]["mastodon"]
    agent = Session(browser, world["server"], "piero")
    page = agent.go(f"/items/{iid}")
    expect(page.locator("#composer")).to_contain_text("A lead of the team approves replies")
    for sample in MASTODON_SAMPLES:
        page.fill("#reply-text", sample)
        expect(page.locator("#reply-count")).to_have_text(str(reply_length("mastodon", sample)))
    page.fill("#reply-text", "We will publish a statement today.")
    page.click("#reply-send")
    expect(page.locator(".flash-ok")).to_contain_text("waiting for a lead's approval")
    expect(page.locator("#reply-list .reply").first).to_have_attribute("data-reply-status", "pending_approval")
    expect(page.locator("button.approve")).to_have_count(0)      # agents do not approve
    _send(world)
    assert world["fake"].delivered("mastodon") == []
    lead = Session(browser, world["server"], "lea", locale="it-IT")
    lpage = lead.go(f"/items/{iid}")
    expect(lpage.locator(".reply-status").first).to_have_text("in attesa di approvazione")
    lpage.fill("#reply-list input[name=note]", "tono giusto")
    lpage.click("button.approve")
    expect(lpage.locator(".flash-ok")).to_contain_text("Risposta approvata")
    _send(world)
    expect(lpage.locator("#reply-list .reply").first).to_have_attribute("data-reply-status", "sent", timeout=10_000)
    assert len(world["fake"].delivered("mastodon")) == 1
    lead.shot("reply-approved-it")
    agent.close()
    lead.close()
