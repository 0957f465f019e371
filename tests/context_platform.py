"""The thread-context tests' platforms: connectors/context_sandbox.py over
tests/fixtures/context/posts.json (each platform's documented format), and the connector tables that
point at it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.context_sandbox import ContextSandbox, load_posts

__all__ = ["ContextPlatforms", "FIXTURE", "context_tables"]

FIXTURE: dict[str, Any] = load_posts(Path(__file__).parent / "fixtures" / "context" / "posts.json")


def context_tables(base: str, names: tuple[str, ...] = ("mastodon", "bluesky", "reddit", "x", "youtube",
                                                         "hackernews")) -> list[dict[str, Any]]:
    """``[[connectors]]`` tables pointing each platform at the fake (names = types)."""
    return [{"name": n, "type": n, "base_url": f"{base}/{n}", "query": ["acme"], "interval": "1h",
             "allow_private_hosts": True, "token_env": None} for n in names]


class ContextPlatforms(ContextSandbox):
    """The sandbox over the tests' fixture unless given other posts."""

    def __init__(self, posts: dict[str, Any] | None = None) -> None:
        super().__init__(posts if posts is not None else FIXTURE)
