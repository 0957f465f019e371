"""The HTML pages without a browser: language negotiation, page
access per role (HR private, dashboard for managers and leads, admin for admins), the CSV export,
user administration, and a model promotion that swaps the live model."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from inbox.web import i18n
from inbox.web.testing import LiveServer, SeedUser, api_token, csrf_from, sample_mentions, seed_users, web_login

ROOT = Path(__file__).resolve().parents[2]
USERS = (SeedUser("carla", "agent", ("customer_care",)), SeedUser("henry", "agent", ("hr",)),
         SeedUser("marco", "agent", ("marketing",), "it"), SeedUser("lena", "lead", ("customer_care",)),
         SeedUser("mara", "manager", ()), SeedUser("root", "admin", ()))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import ExplainingKeywordClassifier, live_server
    tmp = tmp_path_factory.mktemp("pages")

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc, USERS)
        await svc.pipeline.ingest(sample_mentions())
        return {n: await api_token(svc, u.id) for n, u in users.items()}

    with live_server("sqlite", tmp, seed, classifier=ExplainingKeywordClassifier()) as srv:
        yield srv


def _client(**kw: Any) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), **kw)


def test_negotiation() -> None:
    """The user's choice wins; otherwise the best Accept-Language match; English by default."""
    assert i18n.negotiate("it", "en-US,en") == "it"
    assert i18n.negotiate(None, "it-CH,it;q=0.9,en;q=0.5") == "it"
    assert i18n.negotiate(None, "de-DE, it;q=0.3, en;q=0.2") == "it"
    assert i18n.negotiate(None, "fr, de") == "en"
    assert i18n.negotiate("xx", None) == "en"
    assert i18n.negotiate(None, "it;q=0, en") == "en"


async def test_pages_speak_the_users_language(server: LiveServer) -> None:
    """An Italian user and an Italian browser get Italian pages and numbers; others English."""
    async with _client() as s:
        await web_login(s, server.url, "marco")
        async with s.get(server.url + "/queues") as r:
            html = await r.text()
        assert '<html lang="it">' in html and ">Code</h1>" in html
    async with _client(headers={"Accept-Language": "it-IT,it;q=0.9"}) as s:
        async with s.get(server.url + "/login") as r:
            assert ">Accedi</h1>" in await r.text()
    async with _client(headers={"Accept-Language": "it-IT,it;q=0.9"}) as s:
        await web_login(s, server.url, "carla")
        token = csrf_from(await (await s.get(server.url + "/queues")).text())
        async with s.post(server.url + "/settings/locale", data={"_csrf": token, "locale": "en", "next": "/queues"},
                          headers={"Origin": server.url}) as r:
            assert ">Queues</h1>" in await r.text()


async def test_item_page_explains_the_routing_in_the_readers_language(server: LiveServer) -> None:
    """The "why it is here" sentence and the history's event names are Italian for an Italian agent,
    built from the decision's fields rather than the stored English reason."""
    import re
    async with _client() as s:
        await web_login(s, server.url, "marco")
        queue = await (await s.get(server.url + "/queues/marketing")).text()
        item_id = re.search(r'href="/items/(\d+)"', queue).group(1)  # type: ignore[union-attr]
        html = await (await s.get(f"{server.url}/items/{item_id}")).text()
    assert "lo ha etichettato Marketing con confidenza" in html
    assert "<strong>instradato</strong>" in html
    assert "is below the confidence threshold" not in html and "<strong>routed</strong>" not in html
    # the words that weighed most: not computed with the page, but on request (the fragment the
    # page's script fetches when the section opens, or ?features=1 without JavaScript)
    assert f'data-lazy="/items/{item_id}/features"' in html and "<dt>Marketing</dt>" not in html
    async with _client() as s:
        await web_login(s, server.url, "marco")
        fragment = await (await s.get(f"{server.url}/items/{item_id}/features")).text()
        inline = await (await s.get(f"{server.url}/items/{item_id}?features=1")).text()
    for words in (fragment, inline[inline.index('id="features"'):inline.index("</details>")]):
        assert re.search(r"<dt>Marketing</dt><dd>(love|price|offer|adoro|prezzo)\b", words), words
        assert "decided_by" not in words and "priority" not in words
    assert "<html" not in fragment
    async with _client() as s:  # the fragment has the page's access rules
        await web_login(s, server.url, "carla")
        page_status = (await s.get(f"{server.url}/items/{item_id}")).status
        async with s.get(f"{server.url}/items/{item_id}/features") as r:
            assert r.status == page_status and r.status in (403, 404)
            assert "love" not in await r.text()


@pytest.mark.parametrize(("user", "path", "status"), [
    ("carla", "/queues/customer_care", 200), ("carla", "/queues/hr", 404), ("carla", "/queues/marketing", 403),
    ("henry", "/queues/hr", 200), ("carla", "/dashboard", 403), ("lena", "/dashboard", 200),
    ("lena", "/dashboard?team=hr", 403), ("mara", "/dashboard?team=hr&period=30d", 200),
    ("mara", "/admin/users", 403), ("root", "/admin/users", 200), ("root", "/admin/connectors", 200),
    ("root", "/admin/rules", 200), ("root", "/admin/models", 200), ("root", "/admin/teams", 200),
    ("root", "/queues/hr", 200), ("carla", "/items/999999", 404), ("carla", "/items/abc", 404),
])
async def test_page_access(server: LiveServer, user: str, path: str, status: int) -> None:
    """Each page answers the status the access rules give for this user."""
    async with _client() as s:
        await web_login(s, server.url, user)
        async with s.get(server.url + path, allow_redirects=False) as r:
            assert r.status == status, await r.text()


async def test_hr_item_page_leaks_nothing(server: LiveServer) -> None:
    """A customer-care agent asking for an HR item's page gets a 404 page without its text."""
    async with _client() as s:
        await web_login(s, server.url, "henry")
        html = await (await s.get(server.url + "/queues/hr")).text()
        import re
        hr_ids = re.findall(r'data-item-id="(\d+)"', html)
        assert hr_ids
        await web_login(s, server.url, "carla")
        for i in hr_ids:
            async with s.get(f"{server.url}/items/{i}") as r:
                assert r.status == 404
                assert "interview" not in await r.text()


async def test_anonymous_pages_redirect_to_login(server: LiveServer) -> None:
    """Without a session a page sends you to the sign-in form and back afterwards."""
    async with _client() as s:
        async with s.get(server.url + "/queues/customer_care?offset=0", allow_redirects=False) as r:
            assert r.status == 303
            loc = r.headers["Location"]
        from urllib.parse import parse_qs, urlsplit
        assert urlsplit(loc).path == "/login"
        assert parse_qs(urlsplit(loc).query)["next"] == ["/queues/customer_care?offset=0"]


async def test_csv_export_one_row_per_item(server: LiveServer) -> None:
    """The manager's CSV has one row per item of the period (and team), without mention text."""
    async with _client() as s:
        await web_login(s, server.url, "mara")
        async with s.get(server.url + "/dashboard/export.csv?period=7d") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(await r.text())))
        async with s.get(server.url + "/api/v1/metrics?since=7d") as r:
            total = (await r.json())["volume"]["total"]
        listed = [r for r in rows if r["id"]]
        assert sum(int(r["items"]) for r in rows) == total and len({r["id"] for r in listed}) == len(listed)
        assert "text" not in rows[0] and all("refund" not in ",".join(r.values()) for r in rows)
        assert "hr" not in {r["team"] for r in listed}  # mara is outside HR: counts only
        async with s.get(server.url + "/dashboard/export.csv?period=7d&team=hr") as r:
            hr_rows = list(csv.DictReader(io.StringIO(await r.text())))
        assert len(hr_rows) == 1 and hr_rows[0]["id"] == "" and int(hr_rows[0]["items"]) > 0
    async with _client() as s:  # an admin outside HR, too, gets the count only
        await web_login(s, server.url, "root")
        async with s.get(server.url + "/dashboard/export.csv?period=7d&team=hr") as r:
            root_rows = list(csv.DictReader(io.StringIO(await r.text())))
        assert len(root_rows) == 1 and int(root_rows[0]["items"]) == int(hr_rows[0]["items"])
    async with _client() as s:
        await web_login(s, server.url, "carla")
        async with s.get(server.url + "/dashboard/export.csv") as r:
            assert r.status == 403


async def test_admin_user_management(server: LiveServer) -> None:
    """An admin creates a user, changes their team, and deactivates them, which ends their session."""
    async with _client() as admin, _client() as user:
        token = await web_login(admin, server.url, "root")
        form = {"_csrf": token, "name": "zoe", "role": "agent", "teams": "pr", "password": "lantern-quartz-9081",
                "capacity": "5", "locale": "it"}
        async with admin.post(server.url + "/admin/users", data=form, headers={"Origin": server.url}) as r:
            assert r.status == 200 and "zoe" in await r.text()
        await web_login(user, server.url, "zoe", "lantern-quartz-9081")
        async with user.get(server.url + "/queues/pr", allow_redirects=False) as r:
            assert r.status == 200
        for weak in ("short", "aaaaaaaaaaaa", "password1234", "zoe-lantern-quartz"):  # length, common, name
            bad = {**form, "password": weak, "mode": "edit"}
            async with admin.post(server.url + "/admin/users", data=bad, headers={"Origin": server.url}) as r:
                assert r.status in (400, 422), weak
        moved = aiohttp.FormData([("_csrf", token), ("mode", "edit"), ("name", "zoe"), ("role", "agent"),
                                  ("teams", "marketing"),
                                  ("teams", "triage"), ("capacity", "5")])
        async with admin.post(server.url + "/admin/users", data=moved, headers={"Origin": server.url}) as r:
            assert r.status == 200
        async with user.get(server.url + "/queues/pr", allow_redirects=False) as r:
            assert r.status == 403
        async with admin.post(server.url + "/admin/users/zoe/deactivate", data={"_csrf": token},
                              headers={"Origin": server.url}) as r:
            assert r.status == 200
        async with user.get(server.url + "/queues", allow_redirects=False) as r:
            assert r.status == 303
        # saved again from the page, the deactivated user is active again and can sign in
        again = {"_csrf": token, "mode": "create", "name": "zoe", "role": "agent", "teams": "pr",
                 "password": "lantern-quartz-9082", "capacity": "5"}
        async with admin.post(server.url + "/admin/users", data=again, headers={"Origin": server.url}) as r:
            assert r.status == 200 and "zoe" in await r.text()
        await web_login(user, server.url, "zoe", "lantern-quartz-9082")
        async with user.get(server.url + "/queues/pr", allow_redirects=False) as r:
            assert r.status == 200
        kinds = [e["kind"] for e in server.call(audit_of, server.svc, "root")]
        assert kinds[:3] == ["user_changed", "user_deactivated", "user_changed"]


async def audit_of(svc: Any, actor: str) -> list[dict[str, Any]]:
    from inbox.ops.audit import AuditFilter, audit_events
    return await audit_events(svc.engine, AuditFilter(actor=actor))


async def test_promote_swaps_the_live_model(server: LiveServer) -> None:
    """Promoting a registered version from the admin page activates it and reloads the live model."""
    from inbox.storage.repo import model_versions
    calls: list[str] = []

    async def register() -> None:
        async with server.svc.engine.begin() as conn:
            await model_versions.register("v-old", "/nonexistent/old.skops",
                                          {"evaluation": {"seed": {"macro_f1": 0.8}}},
                                          conn=conn, now=server.svc.clock.now())
            await model_versions.promote("v-old", conn=conn, now=server.svc.clock.now())
            await model_versions.register("v-new", "/nonexistent/new.skops",
                                          {"evaluation": {"seed": {"macro_f1": 0.9}}},
                                          conn=conn, now=server.svc.clock.now())

        async def fake_load() -> Any:  # the real one loads a model file; here: record the swap
            async with server.svc.engine.connect() as conn:
                calls.append((await model_versions.active_version(conn=conn))["version"])
            return server.svc.classifier
        server.svc.load_model = fake_load
    server.call(register)
    async with _client() as s:
        token = await web_login(s, server.url, "root")
        async with s.get(server.url + "/admin/models") as r:
            page = await r.text()
        assert "v-new" in page and "v-old" in page
        async with s.post(server.url + "/admin/models/v-new/promote", data={"_csrf": token, "force": "1"},
                          headers={"Origin": server.url}) as r:
            assert r.status == 200
            assert "v-new" in await r.text()
        async with s.post(server.url + "/admin/models/v-missing/promote", data={"_csrf": token, "force": "1"},
                          headers={"Origin": server.url}) as r:
            assert r.status == 404
    assert calls == ["v-new"]


async def test_fragments_do_not_read_the_headers_notification_state(server: LiveServer) -> None:
    """A fragment (_*.html, a live refresh) shows no header, so it does not count the unread
    notifications; the full page does (on the service's engine, or on the read units' one)."""
    from tests.conftest import sent_statements
    async with _client() as s:
        await web_login(s, server.url, "carla")
        async with s.get(server.url + "/queues/customer_care") as r:  # a unit has run: its engine exists
            assert r.status == 200
        units = server.svc.reads.thread_engine
        for path, header in (("/queues/customer_care", True), ("/queues/customer_care?partial=1", False),
                             ("/queues", True), ("/queues?partial=1", False)):
            with sent_statements(server.svc.engine, "SELECT") as sent, \
                    sent_statements(units or server.svc.engine, "SELECT") as sent_in_units:
                async with s.get(server.url + path) as r:
                    assert r.status == 200
                    html = await r.text()
            sql = [q for q, _ in sent] + ([q for q, _ in sent_in_units] if units is not None else [])
            assert any("user_notification" in q for q in sql) is header, path
            assert ("<header" in html) is header, path


async def test_a_live_refresh_leaves_the_flash_message_for_the_next_page(server: LiveServer) -> None:
    """A flash message set by a form is shown by the next full page, even when a fragment (a live
    refresh of the queues) is fetched in between: the fragment shows no messages and keeps them."""
    async with _client() as s:
        token = await web_login(s, server.url, "root")
        form = {"_csrf": token, "name": "flo", "role": "agent", "teams": "pr", "password": "copper-meadow-7261",
                "capacity": "5"}
        async with s.post(server.url + "/admin/users", data=form, headers={"Origin": server.url},
                          allow_redirects=False) as r:
            assert r.status == 303
        async with s.get(server.url + "/queues?partial=1") as r:
            assert r.status == 200 and "flo" not in await r.text()
        async with s.get(server.url + "/queues") as r:
            page = await r.text()
        assert 'class="flash flash-ok"' in page and "flo" in page
