"""The reply tests' platforms: connectors/write_sandbox.py's fake of the five write APIs (as
``FakePlatforms``), the connector tables that point at it, its credentials and one parent mention
per platform."""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from connectors.write_sandbox import PLATFORMS as CONNECTORS
from connectors.write_sandbox import WriteSandbox as FakePlatforms

__all__ = ["FakePlatforms", "CONNECTORS", "ENV", "connector_tables", "parent_mentions", "free_port"]


def free_port() -> int:
    """A port nobody listens on now (for a fake started after the settings that name it)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

ENV = {"T_MASTODON": "tok-m", "T_BLUESKY": "app-pw-b", "T_REDDIT": "tok-r", "T_X": "tok-x", "T_YOUTUBE": "tok-y"}


def parent_mentions(suffix: str = "") -> list[Any]:
    """One mention per platform made from tests/fixtures/replies/parents.json by the connectors' own
    parsers; ``suffix`` makes distinct copies (new external ids) for benchmarks."""
    from pathlib import Path

    from connectors.bluesky import post_to_mention
    from connectors.mastodon import status_to_mention
    from connectors.reddit import child_to_mention
    from connectors.x import tweet_to_mention
    from connectors.youtube import comment_to_mention
    fx = json.loads((Path(__file__).parent / "fixtures" / "replies" / "parents.json").read_text(encoding="utf-8"))
    out = [status_to_mention(fx["mastodon"], source="mastodon"), post_to_mention(fx["bluesky"], source="bluesky"),
           child_to_mention(fx["reddit"], source="reddit"),
           tweet_to_mention(fx["x"]["tweet"], source="x", users=fx["x"]["users"]),
           comment_to_mention(fx["youtube"], source="youtube")]
    for m in out:
        m.external_id += suffix
        if m.platform == "mastodon" and suffix:
            m.raw = {**m.raw, "id": m.raw["id"] + suffix}
        if m.platform == "bluesky" and suffix:
            m.raw = {**m.raw, "uri": m.external_id}
    return out


def connector_tables(base: str) -> list[dict[str, Any]]:
    """``[[connectors]]`` tables pointing every platform at the fake (names = types)."""
    out = []
    for name in CONNECTORS:
        t: dict[str, Any] = {"name": name, "type": name, "base_url": f"{base}/{name}", "query": ["acme"],
                             "interval": "1h", "allow_private_hosts": True, "reply_token_env": f"T_{name.upper()}"}
        if name == "bluesky":
            t["handle"] = "acme-support.bsky.social"
        out.append(t)
    return out


if __name__ == "__main__":  # python -m tests.replies_platform PORT: the fake in a process of its own
    import sys
    web.run_app(FakePlatforms().app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
