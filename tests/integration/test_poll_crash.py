"""Crash safety of polling: the `poll --once` process is SIGKILLed between fetch and commit (and
inside the open transaction); the next run stores every mention exactly once, and a further run
adds nothing. Real processes, a real replay server on loopback, a real SQLite file."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from aiohttp.test_utils import TestServer

from connectors.replay import SAMPLES_DIR, create_replay_app
from tests.conftest import ROOT

SI = str(Path(sys.executable).parent / "social-inbox")

CONNECTORS = """
[[connectors]]
name = "masto"
type = "mastodon"
base_url = "{base}/mastodon"
query = ["lumetta", "#lumetta"]
interval = "1h"
allow_private_hosts = true

[[connectors]]
name = "reddit"
type = "reddit"
base_url = "{base}/reddit"
query = ["lumetta"]
subreddits = ["espresso"]
interval = "1h"
allow_private_hosts = true

[[connectors]]
name = "news"
type = "rss"
feeds = ["{base}/rss/business_en.atom.xml", "{base}/rss/google_alerts_lumetta.atom.xml"]
interval = "1h"
allow_private_hosts = true
"""


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    p = await asyncio.create_subprocess_exec(SI, *args, env={**os.environ, **env}, cwd=str(ROOT),
                                             stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await p.communicate()
    return p.returncode or 0, out.decode() + err.decode()


async def _export(cfg: Path, env: dict[str, str]) -> list[dict[str, object]]:
    rc, out = await _run("--config", str(cfg), "export", env=env)
    assert rc == 0, out
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


async def test_sigkill_between_fetch_and_commit_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """After kills at after_fetch and before_commit, the next poll stores the same set as a clean run."""
    server = TestServer(create_replay_app(SAMPLES_DIR), host="127.0.0.1")
    await server.start_server()
    try:
        base = f"http://127.0.0.1:{server.port}"
        text = (ROOT / "config" / "inbox.toml").read_text()
        cfg = tmp_path / "cfg.toml"
        cfg.write_text(text.replace('claim_lease = "15m"', 'claim_lease = "15m"\npoll_lease = "2s"')
                       + CONNECTORS.format(base=base))
        clean_env = {"INBOX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/clean.db",
                     "INBOX_MODEL_DIR": str(tmp_path / "m")}
        env = {"INBOX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/crash.db", "INBOX_MODEL_DIR": str(tmp_path / "m")}
        for e in (clean_env, env):
            rc, out = await _run("--config", str(cfg), "init", env=e)
            assert rc == 0, out
        rc, out = await _run("--config", str(cfg), "poll", "--once", env=clean_env)
        assert rc == 0, out
        expected = {(r["source"], r["external_id"]) for r in await _export(cfg, clean_env)}
        assert len(expected) >= 10

        for point in ("after_fetch", "before_commit"):
            marker = tmp_path / f"{point}.pid"
            p = await asyncio.create_subprocess_exec(
                SI, "--config", str(cfg), "poll", "--once", cwd=str(ROOT),
                env={**os.environ, **env, "INBOX_PAUSE_AT": point, "INBOX_PAUSE_FILE": str(marker)},
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while not marker.exists() and time.monotonic() < deadline and p.returncode is None:
                await asyncio.sleep(0.1)
            assert marker.exists(), f"the poll never reached {point}"
            p.kill()
            await p.wait()
            assert await _export(cfg, env) == [], f"a kill at {point} left a partial batch"
        await asyncio.sleep(2.5)  # the dead poller's connector leases expire (poll_lease = 2s)
        rc, out = await _run("--config", str(cfg), "poll", "--once", env=env)
        assert rc == 0, out
        rows = await _export(cfg, env)
        keys = [(r["source"], r["external_id"]) for r in rows]
        assert len(keys) == len(set(keys)) and set(keys) == expected
        rc, out = await _run("--config", str(cfg), "poll", "--once", env=env)
        summaries = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        assert summaries and all(s.get("ingested", 0) == 0 for s in summaries)
        assert len(await _export(cfg, env)) == len(expected)
    finally:
        await server.close()
