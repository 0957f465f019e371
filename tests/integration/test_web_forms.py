"""Forms that fail keep what was typed: a refused note or user form comes back with the problem next
to its field (in the reader's language) and the input kept; "New user" with an existing name is a
409, not an overwrite; status buttons are not offered on an item another agent holds; a form sent
after its session ended goes through sign-in back to its page; shortcuts can be turned off."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from inbox.domain.clock import FakeClock
from inbox.web.testing import PASSWORD, LiveServer, SeedUser, csrf_from, sample_mentions, seed_users, web_login

USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("dario", "agent", ("customer_care",)),
         SeedUser("lena", "lead", ("customer_care",)), SeedUser("root", "admin", ()),
         SeedUser("ugo", "agent", ("customer_care",), "it"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import ExplainingKeywordClassifier, live_server
    tmp = tmp_path_factory.mktemp("forms")

    async def seed(svc: Any) -> dict[str, Any]:
        await seed_users(svc, USERS)
        return {"ids": list((await svc.pipeline.ingest(sample_mentions(n_care=6, with_xss=False))).item_ids)}

    with live_server("sqlite", tmp, seed, classifier=ExplainingKeywordClassifier(), clock=FakeClock()) as srv:
        yield srv


def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _claim(s: aiohttp.ClientSession, base: str, token: str) -> int:
    async with s.post(base + "/queues/customer_care/claim", data={"_csrf": token}, headers={"Origin": base},
                      allow_redirects=False) as r:
        assert r.status == 303
        return int(r.headers["Location"].rsplit("/", 1)[1])


async def test_new_user_with_an_existing_name_is_409_and_keeps_the_form(server: LiveServer) -> None:
    async with _client() as s:
        token = await web_login(s, server.url, "root")
        form = {"_csrf": token, "mode": "create", "name": "carla", "display_name": "Another Carla", "role": "admin",
                "capacity": "7", "password": "lantern-quartz-9081-x"}
        async with s.post(server.url + "/admin/users", data=form, headers={"Origin": server.url}) as r:
            html = await r.text()
            assert r.status == 409
        assert "A user named carla already exists." in html and 'aria-invalid="true"' in html
        assert 'value="Another Carla"' in html and 'value="7"' in html  # what was typed is kept
        assert "lantern-quartz" not in html                              # but never the password
        # carla is unchanged: still an agent who signs in with her own password
    async with _client() as s:
        await web_login(s, server.url, "carla", PASSWORD)
        assert "Another Carla" not in await (await s.get(server.url + "/queues")).text()


async def test_one_bad_field_is_shown_next_to_it_in_italian(server: LiveServer) -> None:
    async with _client() as s:
        token = await web_login(s, server.url, "root")
        await s.post(server.url + "/settings/locale", data={"_csrf": token, "locale": "it", "next": "/admin/users"},
                     headers={"Origin": server.url})
        form = {"_csrf": token, "mode": "create", "name": "nina", "display_name": "Nina Rossi", "role": "agent",
                "teams": "pr", "capacity": "5000", "password": "lantern-quartz-9081-x"}
        async with s.post(server.url + "/admin/users", data=form, headers={"Origin": server.url}) as r:
            html = await r.text()
            assert r.status == 422
        assert "La capacità deve essere tra 1 e 1000." in html and 'id="u-capacity-error"' in html
        assert 'value="nina"' in html and 'value="Nina Rossi"' in html and 'value="5000"' in html
        assert re.search(r'value="pr" checked', html)
        await s.post(server.url + "/settings/locale", data={"_csrf": token, "locale": "en", "next": "/"},
                     headers={"Origin": server.url})


async def test_a_refused_note_keeps_its_text(server: LiveServer) -> None:
    async with _client() as s:
        token = await web_login(s, server.url, "ugo")
        item = await _claim(s, server.url, token)
        long = "x" * 5001
        async with s.post(f"{server.url}/items/{item}/note", data={"_csrf": token, "text": long},
                          headers={"Origin": server.url}) as r:
            html = await r.text()
            assert r.status == 422
        assert "Una nota può avere al massimo 5000 caratteri." in html and 'id="note-error"' in html
        assert long in html


async def test_no_status_buttons_on_an_item_another_agent_holds(server: LiveServer) -> None:
    async with _client() as dario, _client() as carla, _client() as lena:
        item = await _claim(dario, server.url, await web_login(dario, server.url, "dario"))
        await web_login(carla, server.url, "carla")
        html = await (await carla.get(f"{server.url}/items/{item}")).text()
        assert "dario is working on this item" in html
        assert 'data-action="resolve"' not in html and 'value="claimed"' not in html and "/release" not in html
        assert f'action="/items/{item}/note"' in html  # a note is still possible
        await web_login(lena, server.url, "lena")  # a lead may act on it
        html = await (await lena.get(f"{server.url}/items/{item}")).text()
        assert 'data-action="resolve"' in html and f'action="/items/{item}/release"' in html


async def test_a_form_sent_after_the_session_ended_goes_back_through_sign_in(server: LiveServer) -> None:
    async with _client() as s:
        token = await web_login(s, server.url, "carla")
        page = f"{server.url}/items/{server.seeded['ids'][0]}"
        await s.post(server.url + "/logout", data={"_csrf": token}, headers={"Origin": server.url})
        async with s.post(page + "/note", data={"_csrf": token, "text": "typed before the session ended"},
                          headers={"Origin": server.url, "Referer": page}, allow_redirects=False) as r:
            assert r.status == 303
            assert r.headers["Location"] == "/login?next=" + page.removeprefix(server.url)


async def test_shortcuts_can_be_turned_off_and_remapped(server: LiveServer) -> None:
    async with _client() as s:
        token = await web_login(s, server.url, "dario")
        html = await (await s.get(server.url + "/queues/customer_care")).text()
        assert "&#34;off&#34;:false" in html and '<kbd data-hint aria-hidden="true">c</kbd>' in html
        bad = {"_csrf": token, "enabled": "1", "key_claim": "z", "key_spam": "z"}
        async with s.post(server.url + "/settings/shortcuts", data=bad, headers={"Origin": server.url}) as r:
            assert r.status == 422 and "z is already the key of another action." in await r.text()
        async with s.post(server.url + "/settings/shortcuts", data={"_csrf": token, "enabled": "1", "key_claim": "z"},
                          headers={"Origin": server.url}) as r:
            assert r.status == 200
        html = await (await s.get(server.url + "/queues/customer_care")).text()
        assert '<kbd data-hint aria-hidden="true">z</kbd>' in html and "&#34;claim&#34;:&#34;z&#34;" in html
        await s.post(server.url + "/settings/shortcuts", data={"_csrf": token}, headers={"Origin": server.url})
        html = await (await s.get(server.url + "/queues/customer_care")).text()
        assert 'class="no-shortcuts"' in html and "&#34;off&#34;:true" in html and "<kbd data-hint" not in html
        csrf_from(html)


async def test_queue_counts_follow_a_change_within_seconds(server: LiveServer) -> None:
    """The counts above a queue's list (re-fetched by the live update) catch up with a mention
    ingested a moment ago: right after the change they may miss it, and then say so (the page is
    marked, so the browser fetches it once more); once the change is two seconds old they include it."""
    from connectors.base import Mention

    def unclaimed(html: str) -> int:
        m = re.search(r"([\d.,]+) unclaimed", html)
        assert m, html[:500]
        return int(m.group(1).replace(",", ""))
    async with _client() as s:
        await web_login(s, server.url, "dario")
        url = server.url + "/queues/customer_care?partial=1"
        server.svc.clock.advance(2.0)                    # past the changes of the tests before
        html = await (await s.get(url)).text()
        before = unclaimed(html)
        assert "data-counts-behind" not in html

        async def ingest() -> None:
            await server.svc.pipeline.ingest([Mention(source="live", platform="mastodon", external_id="count-1",
                                                      language="en", text="My order arrived broken, refund please")])
        server.call(ingest)
        html = await (await s.get(url)).text()           # the counts were read "now": not again yet
        assert unclaimed(html) == before and "data-counts-behind" in html
        server.svc.clock.advance(2.0)
        html = await (await s.get(url)).text()
        assert unclaimed(html) == before + 1 and "data-counts-behind" not in html
