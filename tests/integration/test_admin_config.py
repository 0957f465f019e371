"""Configuration edited through /api/v1/admin: admins only, validated by the file's schema with
errors per field, each change a version with an audit event and a rollback; a rule added through
one instance routes the next mention on another instance sharing the PostgreSQL database."""
from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Mention
from inbox.web.testing import api_token, seed_users
from tests.conftest import ROOT, backend_url, live_server


async def _seed(svc: Any) -> dict[str, str]:
    users = await seed_users(svc)
    return {n: await api_token(svc, users[n].id) for n in ("root", "carla")}


def _call(base: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + "/api/v1" + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    return status, json.loads(raw) if raw else None


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_connectors_edited_live_with_versions_audit_and_rollback(backend: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOV_TEST_TOKEN", "x")
    with live_server(backend, tmp_path, _seed) as srv:
        tok, base = srv.seeded, srv.url
        with urllib.request.urlopen(base + "/api/v1/health", timeout=30) as r:
            anonymous = json.loads(r.read())
        assert anonymous == {"status": "ok", "database": "ok", "model_version": None, "connectors": []}
        assert _call(base, "GET", "/health", tok["carla"])[1]["model_version"] is None
        assert _call(base, "GET", "/health", tok["root"])[1]["model_version"] is not None
        st, js = _call(base, "GET", "/admin/connectors", tok["root"])
        assert st == 200 and isinstance(js["connectors"], list)
        before = len(js["connectors"])
        assert (_call(base, "GET", "/admin/connectors", tok["carla"]))[0] == 403
        st, js = _call(base, "POST", "/admin/connectors", tok["root"],
                             {"name": "bad-one", "type": "carrier-pigeon", "interval": "soon"})
        assert st == 422 and {e["loc"] for e in js["errors"]} >= {"body.type", "body.interval"}
        good = {"name": "gov-news", "type": "rss", "feeds": ["https://example.org/feed.xml"],
                "token_env": "GOV_TEST_TOKEN", "interval": "1h"}
        st, js = _call(base, "POST", "/admin/connectors", tok["root"], good)
        assert st == 201, js
        assert (_call(base, "POST", "/admin/connectors", tok["root"], good))[0] == 409
        st, js = _call(base, "GET", "/admin/connectors", tok["root"])
        assert [c["name"] for c in js["connectors"]][-1] == "gov-news" and len(js["connectors"]) == before + 1
        assert {"field": "gov-news.token_env", "env": "GOV_TEST_TOKEN", "set": True} in js["secrets"]
        assert srv.svc.settings.connector("gov-news") is not None
        st, js = _call(base, "GET", "/admin/connectors/history", tok["root"])
        assert [v["actor"] for v in js["versions"]] == ["root", "seed"]
        st, js = _call(base, "GET", "/admin/audit?kind=config_changed&actor=root", tok["root"])
        assert st == 200 and js["events"][0]["data"]["diff"]["added"] == ["gov-news"]
        st, js = _call(base, "POST", "/admin/connectors/rollback", tok["root"], {})
        assert st == 200, js
        assert srv.svc.settings.connector("gov-news") is None
        st, js = _call(base, "GET", "/admin/connectors", tok["root"])
        assert len(js["connectors"]) == before
        st, js = _call(base, "GET", "/admin/audit?kind=config_rolled_back", tok["root"])
        assert js["events"][0]["data"]["diff"]["removed"] == ["gov-news"]


def test_try_a_connector_and_the_rules_before_saving(tmp_path: Path) -> None:
    """One fetch of an unsaved connector shows its first items and stores nothing; a text is routed
    by the rules in force or by unsaved ones; bad entries answer 422 per field."""
    feed = ROOT / "tests" / "fixtures" / "connectors" / "feed_identity.xml"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(feed.parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with live_server("sqlite", tmp_path, _seed) as srv:
            tok = srv.seeded["root"]
            body = {"name": "try-feed", "type": "rss", "allow_private_hosts": True,
                    "feeds": [f"http://127.0.0.1:{httpd.server_address[1]}/{feed.name}"]}
            st, js = _call(srv.url, "POST", "/admin/connectors/test", tok, body)
            assert st == 200 and js["ok"] and js["items"] and js["read"] >= len(js["items"]), js
            assert all(i["text"] for i in js["items"])
            st, js = _call(srv.url, "GET", "/queues", tok)
            assert sum(q["open"] for q in js["queues"]) == 0  # nothing stored
            assert _call(srv.url, "POST", "/admin/connectors/test", srv.seeded["carla"], body)[0] == 403
            bad = {"name": "x", "type": "rss", "feeds": ["nope"]}
            st, js = _call(srv.url, "POST", "/admin/connectors/test", tok, bad)
            assert st == 422 and js["errors"][0]["loc"].startswith("body.feeds")
            with socket.socket() as silent:  # accepts connections, never answers
                silent.bind(("127.0.0.1", 0))
                silent.listen(8)
                mute = {**body, "feeds": [f"http://127.0.0.1:{silent.getsockname()[1]}/feed.xml"]}
                st, js = _call(srv.url, "POST", "/admin/connectors/test", tok, mute)
            assert st == 200 and not js["ok"] and js["error"].startswith("no answer within"), js

            text = {"text": "a zanzibar question about my order"}
            st, now = _call(srv.url, "POST", "/admin/rules/test", tok, text)
            assert st == 200 and now["rule"] != "zanzibar"
            rules = [{"name": "zanzibar", "keywords": ["zanzibar"], "team": "marketing", "priority": 3,
                      "watchers": ["pr"]}]
            st, js = _call(srv.url, "POST", "/admin/rules/test", tok, {**text, "rules": rules})
            assert st == 200
            assert (js["team"], js["rule"], js["priority"], js["watchers"]) == ("marketing", "zanzibar", 3, ["pr"])
            bad_rules = [{"name": "r", "team": "nowhere"}]
            st, js = _call(srv.url, "POST", "/admin/rules/test", tok, {**text, "rules": bad_rules})
            assert st == 422 and js["errors"]
            assert srv.svc.settings.rules == srv.settings.rules  # nothing saved
    finally:
        httpd.shutdown()


def _route(srv: Any, text: str) -> str:
    async def go(svc: Any) -> str:
        res = await svc.pipeline.ingest([Mention(source="t", platform="t", external_id=f"x{time.monotonic_ns()}",
                                                 text=text)])
        async with svc.engine.connect() as conn:
            from sqlalchemy import text as sql
            return str((await conn.execute(sql("SELECT team FROM queue_item WHERE id = :i"),
                                           {"i": res.item_ids[0]})).scalar_one())
    return str(srv.call(go, srv.svc))


def _wait(cond: Any, within: float = 5.0) -> float:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > within:
            raise AssertionError(f"not within {within} s")
        time.sleep(0.05)
    return time.monotonic() - t0


def test_a_rule_added_on_one_instance_routes_on_another_within_5s(tmp_path: Path) -> None:
    from tests.conftest import app_server
    text = "the zanzibar shipment question"
    with backend_url("postgres", tmp_path) as url, app_server(url, tmp_path, _seed) as a, \
            app_server(url, tmp_path) as b:
        tok = a.seeded["root"]
        before = _route(b, text)
        assert before != "hr"
        rule = {"name": "zanzibar-to-hr", "keywords": ["zanzibar"], "team": "hr", "priority": 3}
        st, js = _call(a.url, "POST", "/admin/rules", tok, rule)
        assert st == 201, js
        # the next mention ingested on B (as an import or a poll stores it) is routed by the new rule
        # within 5 s of A's answer, and by the previous rules within 5 s of the rollback
        _wait(lambda: _route(b, text) == "hr")
        assert any(r.name == "zanzibar-to-hr" for r in b.svc.settings.rules)
        st, js = _call(a.url, "POST", "/admin/rules/rollback", tok, {})
        assert st == 200, js
        _wait(lambda: _route(b, text) == before)
        assert not any(r.name == "zanzibar-to-hr" for r in b.svc.settings.rules)


async def _seed_authors(svc: Any) -> dict[str, Any]:
    tokens = await _seed(svc)
    await svc.pipeline.ingest(
        [Mention(source="s", platform="import", external_id=f"m{i}", author_handle="@mario.rossi",
                 text=f"my order {i} is broken, says the brontolone") for i in range(2)]
        + [Mention(source="s", platform="import", external_id="j1", author_handle="@jane", text="my order is late")])
    from sqlalchemy import text as sql
    async with svc.engine.connect() as conn:
        jane = (await conn.execute(sql("SELECT id FROM mention WHERE external_id = 'j1'"))).scalar_one()
    return {**tokens, "jane": jane}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_privacy_and_the_audit_trail_through_the_admin_api(backend: str, tmp_path: Path) -> None:
    """Subject export and erasure as an admin's API calls (agents refused), one audit event without
    the erased data; the audit trail filtered by kind, actor, item and dates, a bad date refused."""
    with live_server(backend, tmp_path, _seed_authors) as srv:
        tok, base, jane = srv.seeded["root"], srv.url, srv.seeded["jane"]
        who = {"author": "@Mario.Rossi"}
        assert _call(base, "POST", "/admin/privacy/export", srv.seeded["carla"], who)[0] == 403
        assert _call(base, "POST", "/admin/privacy/erase", srv.seeded["carla"], who)[0] == 403
        st, js = _call(base, "POST", "/admin/privacy/export", tok, who)
        assert st == 200 and sorted(m["external_id"] for m in js["mentions"]) == ["m0", "m1"]
        assert "brontolone" in json.dumps(js) and "j1" not in json.dumps(js)
        st, js = _call(base, "POST", "/admin/privacy/erase", tok, who)
        assert st == 200 and (js["mentions"], js["tombstones"]) == (2, 2), js
        assert _call(base, "POST", "/admin/privacy/export", tok, who)[1]["mentions"] == []
        st, js = _call(base, "GET", "/admin/audit?kind=privacy_erased&actor=root", tok)
        assert st == 200 and len(js["events"]) == 1
        assert "brontolone" not in json.dumps(js) and "mario" not in json.dumps(js).lower()
        st, js = _call(base, "GET", f"/admin/audit?item={jane}", tok)
        assert st == 200 and js["events"] and {e["item_id"] for e in js["events"]} == {jane}
        assert "routed" in {e["kind"] for e in js["events"]}
        today = srv.svc.clock.now().date().isoformat()
        assert _call(base, "GET", f"/admin/audit?kind=privacy_erased&since={today}&until={today}", tok)[1]["events"]
        assert _call(base, "GET", "/admin/audit?since=2999-01-01", tok)[1]["events"] == []
        assert _call(base, "GET", "/admin/audit?until=2000-01-01", tok)[1]["events"] == []
        assert _call(base, "GET", "/admin/audit?since=yesterday", tok)[0] in (400, 422)
        assert _call(base, "GET", "/admin/audit", srv.seeded["carla"])[0] == 403
