"""Brand-mention connectors: one module per platform behind one protocol; no database access.

Typical use by the inbox::

    http = HttpClient(session)                          # one per process, one shared session
    settings = ConnectorSettings.model_validate(table)  # or a ConnectorList in the config model
    connector = build_connector(settings, http, env=os.environ)
    result = await connector.poll(stored_cursor)        # PollResult; store result.cursor after commit
"""
from __future__ import annotations

from .base import Connector, Mention, PollResult, Reject, StreamError
from .config import ConnectorList, ConnectorSettings, parse_interval
from .errors import (
    BlockedAddress,
    ConfigError,
    ConnectorError,
    PayloadError,
    PermanentError,
    RateLimited,
    SignatureError,
    TransientError,
)
from .http import HttpClient, HttpStats, RetryPolicy
from .registry import CONNECTOR_TYPES, build_connector

__all__ = [
    "Connector",
    "Mention",
    "PollResult",
    "Reject",
    "StreamError",
    "ConnectorList",
    "ConnectorSettings",
    "parse_interval",
    "ConnectorError",
    "TransientError",
    "RateLimited",
    "PermanentError",
    "ConfigError",
    "BlockedAddress",
    "SignatureError",
    "PayloadError",
    "HttpClient",
    "HttpStats",
    "RetryPolicy",
    "CONNECTOR_TYPES",
    "build_connector",
]
