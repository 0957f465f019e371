"""Connector settings: one [[connectors]] table, validated with clear errors."""
from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from connectors.config import ConnectorList, ConnectorSettings, parse_interval


def table(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {"name": "masto", "type": "mastodon", "query": ["lumetta"]}
    base.update(overrides)
    return base


def test_minimal_table_gets_type_defaults() -> None:
    """A minimal mastodon table validates and gets the default base URL and interval."""
    settings = ConnectorSettings.model_validate(table())
    assert settings.base_url == "https://mastodon.social"
    assert settings.interval == timedelta(minutes=5)
    assert settings.allow_private_hosts is False and settings.enabled is True


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800), ("90", 90), (45, 45), ("1.5m", 90)]
)
def test_parse_interval_units(text: str | int, seconds: float) -> None:
    """parse_interval understands s, m, h, d and bare seconds."""
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5x", "", "-1m", "0s", "m5", "five minutes"])
def test_parse_interval_refuses_junk(text: str) -> None:
    """Unknown units, zero and negative durations are refused."""
    with pytest.raises(ValueError):
        parse_interval(text)


def test_bad_interval_names_the_field() -> None:
    """An invalid interval is a ValidationError located at 'interval' with a helpful message."""
    with pytest.raises(ValidationError) as info:
        ConnectorSettings.model_validate(table(interval="5 fortnights"))
    error = info.value.errors()[0]
    assert error["loc"] == ("interval",) and "'30s', '5m', '1h'" in error["msg"]


def test_unknown_type_lists_the_valid_ones() -> None:
    """An unknown type is refused at 'type' and the message lists the valid types."""
    with pytest.raises(ValidationError) as info:
        ConnectorSettings.model_validate(table(type="myspace"))
    error = info.value.errors()[0]
    assert error["loc"] == ("type",) and "mastodon" in error["msg"] and "webhook" in error["msg"]


def test_query_required_except_rss_and_webhook() -> None:
    """Searching types need query terms; rss needs feeds and no query."""
    with pytest.raises(ValidationError, match="'query' needs at least one term"):
        ConnectorSettings.model_validate(table(query=[]))
    with pytest.raises(ValidationError, match="'feeds' needs at least one feed"):
        ConnectorSettings.model_validate({"name": "news", "type": "rss"})
    rss = ConnectorSettings.model_validate({"name": "news", "type": "rss", "feeds": ["https://example.com/feed.xml"]})
    assert rss.base_url is None and rss.feeds == ["https://example.com/feed.xml"]


def test_type_specific_keys_are_refused_elsewhere() -> None:
    """'subreddits' on a mastodon connector is an error naming the right type."""
    with pytest.raises(ValidationError, match="'subreddits' is only valid for type reddit"):
        ConnectorSettings.model_validate(table(subreddits=["espresso"]))


def test_unknown_keys_forbidden_but_options_free() -> None:
    """Extra top-level keys are refused; anything goes inside the options table."""
    with pytest.raises(ValidationError) as info:
        ConnectorSettings.model_validate(table(colour="blue"))
    assert info.value.errors()[0]["loc"] == ("colour",)
    settings = ConnectorSettings.model_validate(table(options={"colour": "blue"}))
    assert settings.options == {"colour": "blue"}


@pytest.mark.parametrize("name", ["Masto", "masto social", "", "ü"])
def test_name_pattern(name: str) -> None:
    """Names are lower-case letters, digits, '-' and '_' only."""
    with pytest.raises(ValidationError):
        ConnectorSettings.model_validate(table(name=name))


def test_webhook_needs_secret_and_urls_must_be_http() -> None:
    """A webhook needs secret_env; base_url must be http(s); env names must look like env names."""
    with pytest.raises(ValidationError, match="secret_env"):
        ConnectorSettings.model_validate({"name": "forms", "type": "webhook"})
    with pytest.raises(ValidationError, match="not an http"):
        ConnectorSettings.model_validate(table(base_url="file:///etc/passwd"))
    with pytest.raises(ValidationError):
        ConnectorSettings.model_validate(table(token_env="NOT A NAME"))


class _Config(BaseModel):
    connectors: ConnectorList = []


def test_list_locates_errors_and_refuses_duplicate_names() -> None:
    """In a list, errors carry the index (connectors[1].type) and duplicate names are refused."""
    with pytest.raises(ValidationError) as info:
        _Config.model_validate({"connectors": [table(), table(name="other", type="nope")]})
    assert info.value.errors()[0]["loc"][:3] == ("connectors", 1, "type")
    with pytest.raises(ValidationError, match="duplicate connector name 'masto'"):
        _Config.model_validate({"connectors": [table(), table()]})
