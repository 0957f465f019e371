"""Personal data stays out of the logs: a full run of the console script at debug level (init,
users and tokens, an import with an e-mail address and a phone number in the text, a bad line, a
poll of a feed whose item names an e-mail address, classify, export, a served API with a note and a
claim, privacy export and erase, retention) leaves stderr without any mention text, note, e-mail
address, password or token."""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ROOT
from tests.integration.test_cli import SI, run

SECRET_WORDS = ("brontolone", "ciclamino", "mario.rossi@example.com", "+39 333 1234567", "pw-logs-1234567")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Forum</title><link>http://example.org/</link>
<item><guid>f1</guid><link>http://example.org/f1</link><title>Ordine rotto</title>
<author>mario.rossi@example.com (Mario Rossi)</author>
<description>Il brontolone di nuovo: rispondete a mario.rossi@example.com</description></item>
</channel></rss>
"""


@contextmanager
def _feed_server(directory: Path) -> Iterator[str]:
    (directory / "feed.xml").write_text(_FEED, encoding="utf-8")
    handler = functools.partial(QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml"
    finally:
        httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


def test_a_full_run_logs_no_personal_data(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    with _feed_server(feeds) as feed:
        _full_run(tmp_path, feed)


def _full_run(tmp_path: Path, feed: str) -> None:
    cfg = tmp_path / "inbox.toml"  # the shipped settings and an RSS source polled once
    cfg.write_text((ROOT / "config" / "inbox.toml").read_text(encoding="utf-8") + f"""
[[connectors]]
name = "forum"
type = "rss"
feeds = ["{feed}"]
allow_private_hosts = true
""", encoding="utf-8")
    env = {"INBOX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/l.db", "INBOX_MODEL_DIR": str(tmp_path / "m"),
           "INBOX_CONFIG": str(cfg)}
    logs: list[str] = []

    def si(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        r = run("--log-level", "debug", *args, env=env, stdin=stdin)
        logs.append(r.stderr)
        assert r.returncode == 0, r.stderr
        return r

    si("init")
    si("users", "add", "ada", "--role", "admin", "--password-stdin", stdin="pw-logs-1234567\n")
    token = si("users", "token", "ada").stdout.strip().splitlines()[-1]
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join([
        json.dumps({"id": "l1", "source": "s", "author": "@mario.rossi",
                    "text": "Ordine rotto, sono un brontolone: scrivetemi a mario.rossi@example.com "
                            "o al +39 333 1234567"}),
        json.dumps({"id": "l2", "source": "s", "author": "@mario.rossi", "created_at": "nope",
                    "text": "riga rotta del brontolone"}),
        "not json, brontolone",
    ]) + "\n")
    si("import", str(f))
    polled = [json.loads(x) for x in si("poll", "--once").stdout.splitlines() if '"forum"' in x]
    assert polled and polled[0].get("ingested") == 1, polled
    si("classify", "il brontolone scrive a mario.rossi@example.com")
    si("export", "--format", "jsonl")
    port = _free_port()
    proc = subprocess.Popen([SI, "--log-level", "debug", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(240):
            try:
                urllib.request.urlopen(base + "/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.25)
        item = json.loads(si("export", "--format", "jsonl").stdout.splitlines()[0])["id"]

        def call(method: str, path: str, body: object = None) -> None:
            req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=30).read()

        call("POST", f"/items/{item}/notes", {"text": "nota interna ciclamino, mario.rossi@example.com"})
        call("GET", f"/items/{item}")
        call("POST", "/admin/rules/test", {"text": "un brontolone qualunque"})
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        logs.append(err)
    si("privacy", "export", "--author", "@mario.rossi")
    si("privacy", "erase", "--author", "@mario.rossi")
    si("retention", "run")
    text = "\n".join(logs)
    assert "import_batch" in text and "privacy_erased" in text  # the logs were captured at debug level
    found = [w for w in (*SECRET_WORDS, token) if w in text]
    assert found == [], found
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)
