"""An entry refused by the settings schema reads in Italian on the admin editors: pydantic's error
kinds and the settings' own checks, each with its values; nothing is left in English."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from connectors.config import ConnectorSettings
from inbox.settings import RuleSettings, TeamSettings
from inbox.web import i18n
from inbox.web.schema_errors import field_message

BAD: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (ConnectorSettings, {"name": "p", "type": "carrier-pigeon"}),
    (ConnectorSettings, {"name": "p", "type": "rss", "feeds": ["nope"], "interval": "soon", "colour": 1}),
    (ConnectorSettings, {"name": "p", "type": "rss"}),
    (ConnectorSettings, {"name": "p", "type": "rss", "feeds": ["https://e.org/f"], "interval": -5}),
    (ConnectorSettings, {"name": "p", "type": "mastodon", "query": ["x"], "feeds": ["https://e.org/f"]}),
    (ConnectorSettings, {"name": "p", "type": "webhook"}),
    (ConnectorSettings, {"type": "rss", "feeds": "https://e.org/f", "allow_private_hosts": "perhaps"}),
    (RuleSettings, {"name": "r", "team": "marketing"}),
    (RuleSettings, {"name": "r", "keywords": ["x"]}),
    (RuleSettings, {"name": "r", "regex": "(", "team": "pr"}),
    (RuleSettings, {"name": "r", "regex": "a*", "team": "pr"}),
    (RuleSettings, {"name": "r", "keywords": ["x", " "], "team": "pr", "priority": "high"}),
    (RuleSettings, {"name": "r", "labels": ["gossip"], "team": "pr"}),
    (RuleSettings, {"name": "r", "keywords": ["x"], "action": "ignore", "team": "pr"}),
    (TeamSettings, {"name": "Big Team", "retention": "forever", "capacity": -1}),
    (TeamSettings, {"name": "t", "sla": {"first_response": "soon"}, "business_hours": {"timezone": "Mars/Base"}}),
]


@pytest.fixture
def italian() -> Iterator[None]:
    i18n.use_locale("it")
    yield
    i18n.use_locale("en")


def _errors(model: type[BaseModel], entry: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as e:
        model.model_validate(entry)
    return list(e.value.errors(include_input=False, include_url=False))


@pytest.mark.parametrize(("model", "entry"), BAD, ids=[f"{m.__name__}-{i}" for i, (m, _) in enumerate(BAD)])
def test_every_complaint_reads_in_italian(italian: None, model: type[BaseModel], entry: dict[str, Any]) -> None:
    for err in _errors(model, entry):
        shown = field_message(err["type"], err["msg"], err.get("ctx"))
        english = err["msg"].removeprefix("Value error, ")
        assert shown != english and "Input should" not in shown, (err["type"], english)


def test_values_are_kept(italian: None) -> None:
    [err] = _errors(ConnectorSettings, {"name": "p", "type": "carrier-pigeon"})
    shown = field_message(err["type"], err["msg"], err.get("ctx"))
    assert shown.startswith("deve essere uno tra ") and "'rss'" in shown and "'webhook'" in shown
    shown = field_message("value_error", "rules[0] (zz): team 'nowhere' is not defined".partition(": ")[2])
    assert shown == "Il team nowhere non è definito."
    i18n.use_locale("en")
    assert field_message("value_error", "team 'nowhere' is not defined") == "The team nowhere is not defined."
