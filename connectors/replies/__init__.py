"""Replies through the platforms' write APIs (see shared/docs/design.md, "Working an item to the
end"): one writer per platform, built from the connector's settings. Hacker News, RSS and webhook
or file imports have no write API."""
from __future__ import annotations

from collections.abc import Mapping

from ..config import REPLY_TYPES, ConnectorSettings
from ..http import HttpClient
from .base import Posted, ReplyTarget, ReplyWriter, platform_reason, same_text
from .others import RedditWriter, XWriter, YouTubeWriter
from .social import BlueskyWriter, MastodonWriter

__all__ = ["Posted", "ReplyTarget", "ReplyWriter", "WRITERS", "build_writer", "reply_capability", "reply_health",
           "platform_reason", "same_text", "REPLY_TYPES"]

WRITERS: dict[str, type[ReplyWriter]] = {"mastodon": MastodonWriter, "bluesky": BlueskyWriter,
                                         "reddit": RedditWriter, "x": XWriter, "youtube": YouTubeWriter}


def reply_capability(settings: ConnectorSettings | None, env: Mapping[str, str]) -> str | None:
    """None when replies to this connector's mentions can be sent; otherwise why not (in words
    fit for the item page and the health endpoint; never a secret)."""
    if settings is None:
        return "this source has no write API"
    if settings.type not in WRITERS:
        return f"{settings.type} has no write API"
    if not settings.reply_token_env:
        return f"connector {settings.name} is not set up for replies (no reply_token_env)"
    if not env.get(settings.reply_token_env):
        return f"the credential variable {settings.reply_token_env} is not set"
    return None


def reply_health(settings: ConnectorSettings | None, env: Mapping[str, str]) -> str | None:
    """What a connector's health says of replies: "ready", why not when it is set up for them
    (``reply_token_env``) but cannot send (its variable is not set), None when it takes none."""
    if settings is None or not settings.reply_token_env:
        return None
    return reply_capability(settings, env) or "ready"


def build_writer(settings: ConnectorSettings, http: HttpClient, *, env: Mapping[str, str]) -> ReplyWriter:
    return WRITERS[settings.type](settings, http, env=env)
