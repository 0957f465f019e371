"""Settings for one ``[[connectors]]`` TOML table (see shared/docs/design.md).

Validate a whole list with :data:`ConnectorList` (unique names), or one table with
``ConnectorSettings.model_validate(table)``. Errors are ``pydantic.ValidationError`` whose ``loc``
names the field (``("type",)``, ``("connectors", 2, "type")`` for a list), so the caller can print
``inbox.toml: connectors[2].type: Input should be 'mastodon', ...``.

Unknown keys are refused, except inside the free-form ``options`` table, which each connector
documents in its module docstring.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ConnectorType",
    "CONNECTOR_TYPE_NAMES",
    "REPLY_TYPES",
    "DEFAULT_BASE_URLS",
    "ConnectorSettings",
    "ConnectorList",
    "check_unique_names",
    "parse_interval",
]

ConnectorType = Literal["mastodon", "bluesky", "reddit", "hackernews", "rss", "x", "youtube", "webhook"]
CONNECTOR_TYPE_NAMES: tuple[str, ...] = (
    "mastodon", "bluesky", "reddit", "hackernews", "rss", "x", "youtube", "webhook",
)

DEFAULT_BASE_URLS: dict[str, str | None] = {
    "mastodon": "https://mastodon.social",
    "bluesky": "https://bsky.social",
    "reddit": "https://oauth.reddit.com",
    "hackernews": "https://hn.algolia.com",
    "rss": None,
    "x": "https://api.x.com",
    "youtube": "https://www.googleapis.com",
    "webhook": None,
}

_NO_QUERY_TYPES = {"rss", "webhook"}
REPLY_TYPES: tuple[str, ...] = ("mastodon", "bluesky", "reddit", "x", "youtube")
"""The types whose platforms have a write API the inbox replies through."""
_TYPE_ONLY_FIELDS: dict[str, tuple[str, ...]] = {
    "feeds": ("rss",),
    "instances": ("mastodon",),
    "subreddits": ("reddit",),
    "video_ids": ("youtube",),
    "channel_id": ("youtube",),
    "handle": ("bluesky",),
    "app_password_env": ("bluesky",),
    "secret_env": ("webhook",),
}

_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


def parse_interval(value: str | int | float | timedelta) -> timedelta:
    """Turn ``"30s"``, ``"5m"``, ``"1h"``, ``"2d"`` or a number of seconds into a positive timedelta.

    Raises ``ValueError`` for anything else (negative, zero, unknown unit).
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("interval must be a duration such as '30s', '5m' or '1h'")
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _INTERVAL_RE.match(value)
        if not match:
            raise ValueError(
                f"invalid interval {value!r}: use a number followed by s, m, h or d "
                "(e.g. '30s', '5m', '1h')"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    else:
        raise ValueError("interval must be a duration such as '30s', '5m' or '1h'")
    if seconds <= 0:
        raise ValueError(f"interval must be positive, got {value!r}")
    return timedelta(seconds=seconds)


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


HttpUrlStr = Annotated[str, AfterValidator(_http_url)]
Interval = Annotated[timedelta, Field(description="'30s', '5m', '1h' or seconds")]
EnvName = Annotated[str, Field(pattern=_ENV_NAME)]


class ConnectorSettings(BaseModel):
    """One configured source. ``source`` of every mention is ``name``; ``platform`` is ``type``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    name: str = Field(pattern=r"^[a-z0-9_-]+$", min_length=1, max_length=64)
    type: ConnectorType
    base_url: HttpUrlStr | None = None
    query: list[str] = Field(default_factory=list)
    feeds: list[HttpUrlStr] = Field(default_factory=list)
    interval: Interval = timedelta(minutes=5)
    overlap: Interval | None = None
    token_env: EnvName | None = None
    # the variable holding a write-scoped credential: the connector takes replies (connectors.replies)
    reply_token_env: EnvName | None = None
    secret_env: EnvName | None = None
    allow_private_hosts: bool = False
    enabled: bool = True
    timeout: float = Field(default=30.0, gt=0, le=600)
    max_pages: int = Field(default=10, ge=1, le=1000)
    page_size: int | None = Field(default=None, ge=1, le=100)
    instances: list[HttpUrlStr] = Field(default_factory=list)
    subreddits: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{2,21}$")]] = Field(default_factory=list)
    video_ids: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{6,20}$")]] = Field(default_factory=list)
    channel_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{6,40}$")] | None = None
    handle: str | None = None
    app_password_env: EnvName | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("interval", "overlap", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> Any:
        return None if value is None else parse_interval(value)

    @field_validator("query")
    @classmethod
    def _query_terms(cls, value: list[str]) -> list[str]:
        terms = [term.strip() for term in value]
        if any(not term for term in terms):
            raise ValueError("query terms must not be empty")
        return terms

    @model_validator(mode="after")
    def _per_type_rules(self) -> ConnectorSettings:
        for field_name, types in _TYPE_ONLY_FIELDS.items():
            if self.type not in types and getattr(self, field_name):
                raise ValueError(f"'{field_name}' is only valid for type {' or '.join(types)}")
        if self.type not in _NO_QUERY_TYPES and not self.query:
            raise ValueError(f"'query' needs at least one term for type {self.type}")
        if self.type == "rss" and not self.feeds:
            raise ValueError("'feeds' needs at least one feed URL for type rss")
        if self.type == "webhook" and not self.secret_env:
            raise ValueError("'secret_env' is required for type webhook (HMAC secret)")
        if self.app_password_env and not self.handle:
            raise ValueError("'app_password_env' needs 'handle'")
        if self.reply_token_env and self.type not in REPLY_TYPES:
            raise ValueError(f"'reply_token_env' is only valid for type {', '.join(REPLY_TYPES)}: "
                             f"{self.type} has no write API")
        if self.reply_token_env and self.type == "bluesky" and not self.handle:
            raise ValueError("'reply_token_env' needs 'handle' for type bluesky (the account that replies)")
        if self.base_url is None:
            self.base_url = DEFAULT_BASE_URLS[self.type]
        return self

    def base(self) -> str:
        """The base URL (configured or the type's default), without a trailing slash."""
        if not self.base_url:
            raise ValueError(f"connector {self.name!r} of type {self.type} has no base_url")
        return self.base_url


def check_unique_names(connectors: list[ConnectorSettings]) -> list[ConnectorSettings]:
    """Refuse two connectors with one name (the name is the mention's ``source``)."""
    first: dict[str, int] = {}
    for index, settings in enumerate(connectors):
        if settings.name in first:
            raise ValueError(
                f"duplicate connector name {settings.name!r} "
                f"(connectors[{first[settings.name]}] and connectors[{index}])"
            )
        first[settings.name] = index
    return connectors


ConnectorList = Annotated[list[ConnectorSettings], AfterValidator(check_unique_names)]
"""Use as the type of the inbox config's ``connectors`` field."""
