"""POST /api/v1/ingest/{connector}: signed deliveries enter the pipeline; bad signatures, stale
timestamps and unknown connectors are refused with problem+json; malformed items are dead letters."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from connectors.config import ConnectorSettings
from connectors.webhook import sign
from inbox.storage.tables import DeadLetter
from inbox.web.app import create_app

SECRET = "s3cret-webhook-key"


@pytest.fixture
async def client(services: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TestClient]:
    monkeypatch.setenv("FORMS_SECRET", SECRET)
    hook = ConnectorSettings.model_validate({"name": "forms", "type": "webhook", "secret_env": "FORMS_SECRET"})
    services.settings = services.settings.model_copy(update={"connectors": [hook]})
    app = create_app(services.settings, role="web", services=services)
    async with TestClient(TestServer(app)) as c:
        yield c


def _headers(body: bytes, ts: int) -> dict[str, str]:
    return {"X-Inbox-Signature": sign(SECRET.encode(), body, ts), "X-Inbox-Timestamp": str(ts),
            "Content-Type": "application/json"}


async def test_signed_delivery_is_ingested_once(client: TestClient, services: Any) -> None:
    """A valid delivery is accepted (202) and routed; the same delivery again adds nothing."""
    body = json.dumps([{"id": "w1", "text": "my order is broken, refund please"},
                       {"id": "w2", "text": "love the new price offer"}, {"id": "w3"}]).encode()
    ts = int(services.clock.now().timestamp())
    r = await client.post("/api/v1/ingest/forms", data=body, headers=_headers(body, ts))
    assert r.status == 202, await r.text()
    d = await r.json()
    assert (d["ingested"], d["rejected"]) == (2, 1)
    r = await client.post("/api/v1/ingest/forms", data=body, headers=_headers(body, ts))
    assert (await r.json())["duplicates"] == 2
    async with services.engine.connect() as conn:
        dl = [x._mapping for x in await conn.execute(select(DeadLetter.__table__))]
    assert len(dl) == 1 and dl[0]["source"] == "forms"  # a replayed delivery is stored once


@pytest.mark.parametrize("case", ["bad-signature", "stale", "unsigned"])
async def test_refused_deliveries(client: TestClient, services: Any, case: str) -> None:
    """Wrong signature, a timestamp outside the replay window, or none at all: 401 problem+json."""
    body = b'{"id": "x", "text": "hello"}'
    ts = int(services.clock.now().timestamp())
    headers = _headers(body, ts)
    if case == "bad-signature":
        headers["X-Inbox-Signature"] = "sha256=" + "0" * 64
    elif case == "stale":
        headers = _headers(body, ts - 3600)
    else:
        headers = {"Content-Type": "application/json"}
    r = await client.post("/api/v1/ingest/forms", data=body, headers=headers)
    assert r.status == 401
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert (await r.json())["status"] == 401


async def test_unknown_connector_is_404(client: TestClient) -> None:
    """Only configured webhook connectors accept deliveries."""
    r = await client.post("/api/v1/ingest/nope", data=b"{}")
    assert r.status == 404 and (await r.json())["title"]
