"""Web security: CSRF (token and Origin/Referer) on every state-changing route, sessions that
rotate on login and die on logout, cookie flags, login throttling, escaping of untrusted mention
text and links, and the security headers."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from inbox.web.sessions import COOKIE_NAME
from inbox.web.testing import PASSWORD, LiveServer, api_token, csrf_from, sample_mentions, seed_users, web_login


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import live_server
    tmp = tmp_path_factory.mktemp("websec")

    async def seed(svc: Any) -> dict[str, Any]:
        users = await seed_users(svc)
        await svc.pipeline.ingest(sample_mentions())
        return {"tokens": {n: await api_token(svc, u.id) for n, u in users.items()}}

    with live_server("sqlite", tmp, seed) as srv:
        yield srv


def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def _unsafe_html_routes(server: LiveServer) -> list[tuple[str, str]]:
    """Every POST route of the HTML app, with sample path parameters."""
    assert server.app is not None
    out = []
    for route in server.app.router.routes():
        if route.method != "POST" or route.resource is None:
            continue
        info = route.resource.get_info()
        path = info.get("path") or info.get("formatter")
        if not path or path.startswith("/api/"):
            continue
        out.append((route.method, path.format(id=1, team="customer_care", name="dario", version="v1",
                                               section="connectors")))
    return out


async def test_every_state_changing_route_needs_token_and_same_origin(server: LiveServer) -> None:
    """Each POST route of the web app refuses (403) a request without the CSRF token, with a wrong one, and with a
    foreign or missing Origin."""
    routes = _unsafe_html_routes(server)
    assert len(routes) >= 11, routes
    async with _client() as s:
        token = await web_login(s, server.url, "root")
        for method, path in routes:
            url = server.url + path
            cases = [
                ({"Origin": server.url}, {}),                                   # no token
                ({"Origin": server.url}, {"_csrf": "forged"}),                  # wrong token
                ({"Origin": "https://evil.example"}, {"_csrf": token}),         # foreign origin
                ({"Referer": "https://evil.example/page"}, {"_csrf": token}),   # foreign referer, no origin
                ({}, {"_csrf": token}),                                         # neither origin nor referer
            ]
            for headers, data in cases:
                async with s.request(method, url, headers=headers, data=data, allow_redirects=False) as r:
                    assert r.status == 403, (path, headers, data, r.status)
                    text = await r.text()  # the page says why, in words (inbox/web/error_text.py)
                    assert "This form has expired" in text or "from another site was refused" in text


async def test_valid_csrf_passes_and_referer_fallback_works(server: LiveServer) -> None:
    """With the session's token and our own Origin (or Referer) a form post goes through."""
    async with _client() as s:
        token = await web_login(s, server.url, "carla")
        async with s.get(server.url + "/api/v1/queues/customer_care/items?limit=2") as r:
            ids = [i["id"] for i in (await r.json())["items"]]  # items carla may act on (ids follow key order)
        async with s.post(server.url + f"/items/{ids[0]}/note", data={"_csrf": token, "text": "from the web"},
                          headers={"Origin": server.url}, allow_redirects=False) as r:
            assert r.status == 303
        async with s.post(server.url + f"/items/{ids[0]}/note", data={"_csrf": token, "text": "again"},
                          headers={"Referer": server.url + f"/items/{ids[0]}"}, allow_redirects=False) as r:
            assert r.status == 303
        # the API with the session cookie: header token and same origin required
        async with s.post(server.url + f"/api/v1/items/{ids[0]}/notes", json={"text": "x"},
                          headers={"Origin": server.url}) as r:
            assert r.status == 403 and r.headers["Content-Type"].startswith("application/problem+json")
        async with s.post(server.url + f"/api/v1/items/{ids[0]}/notes", json={"text": "x"},
                          headers={"Origin": server.url, "X-CSRF-Token": token}) as r:
            assert r.status == 201


async def test_an_error_quoting_a_long_field_keeps_the_session_cookie_small(server: LiveServer) -> None:
    """A refused form whose error quotes what was typed (10,000 characters, non-ASCII) leaves a session
    cookie a browser keeps (under 4 KB), and the next page shows the shortened error."""
    async with _client() as s:
        token = await web_login(s, server.url, "carla")
        async with s.get(server.url + "/api/v1/queues/customer_care/items?limit=1") as r:
            item = (await r.json())["items"][0]["id"]
        for _ in range(3):
            async with s.post(server.url + f"/items/{item}/assign", data={"_csrf": token, "user": "\U0001F600" * 9_999},
                              headers={"Origin": server.url}, allow_redirects=False) as r:
                assert r.status == 303
                sizes = [len(c) for c in r.headers.getall("Set-Cookie", [])]
                assert sizes and max(sizes) < 4096, sizes
        async with s.get(server.url + f"/items/{item}") as r:
            page = await r.text()
        assert page.count('class="flash flash-error"') == 3 and "\U0001F600\u2026" in page


async def test_bearer_requests_are_exempt_from_csrf(server: LiveServer) -> None:
    """An API client with a bearer token needs no CSRF token or Origin."""
    async with aiohttp.ClientSession() as s:
        async with s.post(server.url + "/api/v1/items/3/notes", json={"text": "api"},
                          headers={"Authorization": f"Bearer {server.seeded['tokens']['carla']}"}) as r:
            assert r.status == 201


async def test_session_rotates_on_login_and_dies_on_logout(server: LiveServer) -> None:
    """Login issues a new session (new cookie and CSRF token); after logout a copy of the old cookie is refused."""
    async with _client() as s:
        async with s.get(server.url + "/login") as r:
            pre_token = csrf_from(await r.text())
        pre_cookie = s.cookie_jar.filter_cookies(URL(server.url))[COOKIE_NAME].value
        async with s.post(server.url + "/login", data={"name": "carla", "password": PASSWORD, "_csrf": pre_token},
                          headers={"Origin": server.url}, allow_redirects=False) as r:
            assert r.status == 303
        post_cookie = s.cookie_jar.filter_cookies(URL(server.url))[COOKIE_NAME].value
        assert post_cookie != pre_cookie
        async with s.get(server.url + "/queues") as r:
            token = csrf_from(await r.text())
        assert token != pre_token
        # the pre-login cookie does not carry the login
        async with aiohttp.ClientSession(cookies={COOKIE_NAME: pre_cookie}) as other:
            async with other.get(server.url + "/api/v1/queues") as r:
                assert r.status == 401
        # a stolen copy of the live cookie works ... until logout
        async with aiohttp.ClientSession(cookies={COOKIE_NAME: post_cookie}) as thief:
            async with thief.get(server.url + "/api/v1/queues") as r:
                assert r.status == 200
            async with s.post(server.url + "/logout", data={"_csrf": token}, headers={"Origin": server.url},
                              allow_redirects=False) as r:
                assert r.status == 303
            async with thief.get(server.url + "/api/v1/queues") as r:
                assert r.status == 401
            async with thief.get(server.url + "/queues", allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"].startswith("/login")
        async with s.get(server.url + "/api/v1/queues") as r:
            assert r.status == 401


async def test_cookie_flags(server: LiveServer) -> None:
    """The session cookie is HttpOnly and SameSite=Lax; a client's own X-Forwarded-Proto does not make it
    Secure (only a configured proxy's does: tests/integration/test_forwarded.py)."""
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + "/login") as r:
            raw = r.headers.getall("Set-Cookie")[0]
        assert "HttpOnly" in raw and "SameSite=Lax" in raw and "Secure" not in raw
        async with s.get(server.url + "/login", headers={"X-Forwarded-Proto": "https"}) as r:
            raw = r.headers.getall("Set-Cookie")[0]
        assert "HttpOnly" in raw and "Secure" not in raw


async def test_login_is_throttled(server: LiveServer) -> None:
    """After login_attempts failures within the window even the right password is refused (429)."""
    attempts = server.settings.server.login_attempts
    async with _client() as s:
        for _ in range(attempts):
            async with s.get(server.url + "/login") as r:
                tok = csrf_from(await r.text())
            async with s.post(
                server.url + "/login",
                data={"name": "marco", "password": "wrong-password!", "_csrf": tok},
                headers={"Origin": server.url},
                allow_redirects=False,
            ) as r:
                assert r.status == 401
        async with s.get(server.url + "/login") as r:
            tok = csrf_from(await r.text())
        async with s.post(server.url + "/login", data={"name": "marco", "password": PASSWORD, "_csrf": tok},
                          headers={"Origin": server.url}, allow_redirects=False) as r:
            assert r.status == 429
        # another user is not affected
        assert await web_login(s, server.url, "dario")


OFF_SITE = ["//evil.example/x", "/\t/evil.example/x", "/\n/evil.example/x", "/\r\n/evil.example/x",
            "/\\evil.example/x", "https://evil.example/x"]


@pytest.mark.parametrize("nxt", OFF_SITE, ids=["slashes", "tab", "newline", "crlf", "backslash", "scheme"])
async def test_open_redirect_is_refused(server: LiveServer, nxt: str) -> None:
    """next= only goes to a path of this site, from the login form and from /login when signed in: a tab
    or newline between the slashes (which browsers and the Location header drop) does not make it '//host'."""
    async with _client() as s:
        async with s.get(server.url + "/login") as r:
            tok = csrf_from(await r.text())
        async with s.post(server.url + "/login", data={"name": "dario", "password": PASSWORD, "_csrf": tok,
                                                       "next": nxt},
                          headers={"Origin": server.url}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/queues"
        async with s.get(server.url + "/login", params={"next": nxt}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/queues"
        async with s.get(server.url + "/login", params={"next": "/items/7?tab=notes"}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/items/7?tab=notes"


async def test_mention_text_is_escaped_and_links_are_safe(server: LiveServer) -> None:
    """The XSS payload appears only escaped; external links carry rel=noopener noreferrer nofollow; javascript:
    URLs are not links."""
    async with _client() as s:
        await web_login(s, server.url, "carla")
        async with s.get(server.url + "/queues/customer_care") as r:
            html = await r.text()
        assert "<script>window.__xss" not in html and "onerror=\"window" not in html
        assert "&lt;script&gt;window.__xss=2&lt;/script&gt;" in html
        xss_id = int(
            re.search(
                r'data-item-id="(\d+)"[^>]*>\s*<a class="item-link" href="/items/\d+">\s*<span class="item-meta">'
                r"[^<]*<span[^>]*>[^<]*</span>[^@]*@evil",
                html,
            ).group(1)
        )
        async with s.get(f"{server.url}/items/{xss_id}") as r:
            page = await r.text()
        assert "<script>" not in page.split("</head>")[1].replace("<script src=", "")
        assert "&lt;img src=x onerror=" in page
        assert 'rel="noopener noreferrer nofollow"' in page
        assert 'href="https://evil.example/x?a=1&amp;b=&lt;2&gt;"' in page
    async with _client() as s:
        await web_login(s, server.url, "root")
        async with s.get(server.url + "/queues/pr") as r:
            html = await r.text()
        pr_ids = re.findall(r'data-item-id="(\d+)"', html)
        for i in pr_ids:
            async with s.get(f"{server.url}/items/{i}") as r:
                assert "javascript:" not in await r.text()


async def test_security_headers(server: LiveServer) -> None:
    """Pages carry a CSP without inline scripts or styles, nosniff and frame denial."""
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + "/login") as r:
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["X-Frame-Options"] == "DENY"
            html = await r.text()
        assert "style=" not in html and "<script>" not in html and "onclick" not in html


async def test_templates_have_no_inline_script_or_style() -> None:
    """No page template has an inline <script> body, a style attribute or an on* handler (the CSP would block
    them). The e-mail bodies under templates/brief/ are never served by the app; mail clients need inline styles."""
    root = Path(__file__).resolve().parents[2] / "inbox" / "web" / "templates"
    for f in root.rglob("*.html"):
        if f.parent.name == "brief":
            continue
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text), f
        assert not re.search(r"\sstyle=", text), f
        assert not re.search(r"\son[a-z]+=", text), f
        assert "<style" not in text, f
