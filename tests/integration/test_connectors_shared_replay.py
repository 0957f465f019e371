"""The contract check's connector block, polled against the shared replay_server.py, and our own
replay server started as `python -m connectors.replay`."""
from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from connectors.config import ConnectorSettings
from connectors.http import HttpClient
from connectors.registry import build_connector

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared").resolve()
WANT = {"masto": 2, "bsky": 5, "reddit": 3, "hn": 2, "news": 7}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


async def _wait_until_up(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"server on {port} did not start")


@pytest.fixture
async def shared_server() -> AsyncIterator[str]:
    script, fixtures = SHARED / "checks" / "replay_server.py", SHARED / "fixtures"
    if not script.exists() or not fixtures.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared checks missing at {SHARED}")
        pytest.skip("shared/ checks not present")
    port = _free_port()
    process = await _start(str(script), str(fixtures), str(port))
    try:
        await _wait_until_up(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()


def _tables(b: str) -> list[dict[str, object]]:
    """The [[connectors]] block of shared/checks/connectors-replay, verbatim in meaning."""
    common = {"interval": "1h", "allow_private_hosts": True}
    return [
        {"name": "masto", "type": "mastodon", "base_url": f"{b}/mastodon", "query": ["halcy"], **common},
        {"name": "bsky", "type": "bluesky", "base_url": f"{b}/bluesky", "query": ["acme"], **common},
        {"name": "reddit", "type": "reddit", "base_url": f"{b}/reddit", "query": ["acme"], **common},
        {"name": "hn", "type": "hackernews", "base_url": f"{b}/hackernews", "query": ["acme"], **common},
        {"name": "news", "type": "rss", "feeds": [f"{b}/rss/news_guardian_rss2.xml", f"{b}/rss/news_heise_atom.xml",
                                                  f"{b}/rss/google_alerts.atom.xml"], **common},
    ]


async def test_contract_check_counts(shared_server: str) -> None:
    """First poll: masto 2, bsky 5, reddit 3, hn 2, news 7 with text; a second poll adds nothing."""
    async with aiohttp.ClientSession() as session:
        http = HttpClient(session)
        got, again = {}, {}
        for table in _tables(shared_server):
            connector = build_connector(ConnectorSettings.model_validate(table), http, env={})
            first = await connector.poll(None)
            second = await connector.poll(first.cursor)
            assert all(m.text for m in first.mentions) and not first.errors and not first.rejects
            got[str(table["name"])] = len({m.external_id for m in first.mentions})
            again[str(table["name"])] = len(second.mentions)
    assert got == WANT and set(again.values()) == {0}


async def test_python_m_replay_serves_samples() -> None:
    """`python -m connectors.replay samples PORT` serves the bundled samples."""
    port = _free_port()
    process = await _start("-m", "connectors.replay", "samples", str(port))
    try:
        await _wait_until_up(port)
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/hackernews/api/v1/search_by_date"
            async with session.get(url, params={"query": "lumetta"}) as response:
                payload = await response.json()
    finally:
        process.terminate()
        await process.wait()
    assert response.status == 200 and payload["nbHits"] == 5
