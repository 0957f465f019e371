"""Queue rows cached by what they show: the same row is rendered once, and anything it displays
(status, text, due time as it reads, language) gives a different row."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2

from inbox.domain.types import ItemSummary
from inbox.web import i18n, rows

TEMPLATES = Path(__file__).resolve().parents[2] / "inbox" / "web" / "templates"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _env(current_settings: Callable[[], Any] = lambda: None) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    rows.install(env, current_settings)  # None: no configuration, the default team names
    return env


def _item(**kw: object) -> ItemSummary:
    base = ItemSummary(id=7, team="customer_care", status="new", priority=1, label="customer_care", confidence=0.9,
                       watchers=[], assignee=None, text="my <b>order</b> is broken", source="mastodon",
                       author="cust", lang="en", url=None, created_at=NOW, routed_at=NOW,
                       first_response_due=NOW + timedelta(hours=3), resolve_due=None, extra={})
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_rows_match_the_macro_and_follow_what_they_show() -> None:
    """item_rows equals the item_row macro's output, escapes the text, and changes with status,
    text, due time and language."""
    env = _env()
    cache = rows.RowCache(env)
    i18n.use_locale("en")
    item = _item()
    first = cache.rows([item], NOW)
    assert first == env.get_template("macros.html").module.item_row(item, NOW)  # type: ignore[attr-defined]
    assert "&lt;b&gt;order" in first and "in 3 hours" in first
    assert cache.rows([item], NOW) == first
    assert "status-claimed" in cache.rows([_item(status="claimed")], NOW)
    assert "refund" in cache.rows([_item(text="refund please")], NOW)
    assert "2 hours" in cache.rows([item], NOW + timedelta(hours=1))
    i18n.use_locale("it")
    try:
        assert cache.rows([item], NOW) != first
    finally:
        i18n.use_locale("en")


def test_cache_is_bounded() -> None:
    """The least recently used rows are dropped beyond max_rows."""
    cache = rows.RowCache(_env(), max_rows=5)
    cache.rows([_item(id=i) for i in range(20)], NOW)
    assert len(cache._rows) == 5


def test_rows_that_show_their_team_use_the_name_in_force() -> None:
    """A team renamed in the configuration (an admin's live edit) changes the rows that name it."""
    teams = {"customer_care": SimpleNamespace(name="customer_care", display_name="Customer care")}
    settings = SimpleNamespace(team=teams.get)
    cache = rows.RowCache(_env(lambda: settings))
    i18n.use_locale("en")
    assert "Customer care" in cache.rows([_item()], NOW, show_team=True)
    teams["customer_care"] = SimpleNamespace(name="customer_care", display_name="Supporto VIP")
    again = cache.rows([_item()], NOW, show_team=True)
    assert "Supporto VIP" in again and "Customer care" not in again
