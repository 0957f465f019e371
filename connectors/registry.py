"""Which class runs which connector type, and how to build one from its settings."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Connector
from .bluesky import BlueskyConnector
from .config import ConnectorSettings
from .hackernews import HackerNewsConnector
from .http import HttpClient
from .mastodon import MastodonConnector
from .reddit import RedditConnector
from .rss import RssConnector
from .webhook import WebhookConnector
from .x import XConnector
from .youtube import YouTubeConnector

__all__ = ["CONNECTOR_TYPES", "build_connector"]

CONNECTOR_TYPES: dict[str, type[Any]] = {
    "mastodon": MastodonConnector,
    "bluesky": BlueskyConnector,
    "reddit": RedditConnector,
    "hackernews": HackerNewsConnector,
    "rss": RssConnector,
    "x": XConnector,
    "youtube": YouTubeConnector,
    "webhook": WebhookConnector,
}


def build_connector(settings: ConnectorSettings, http: HttpClient, *, env: Mapping[str, str]) -> Connector:
    """A ready connector for ``settings``. ``env`` is where ``*_env`` secrets are looked up
    (pass ``os.environ``). Raises :class:`connectors.errors.ConfigError` for a webhook without
    its secret; polling connectors with a missing token still build (the platform will answer
    401/403, which surfaces as :class:`~connectors.errors.PermanentError` on poll)."""
    cls = CONNECTOR_TYPES[settings.type]
    connector: Connector = cls(settings, http, env=env)
    return connector
