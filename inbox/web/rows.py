"""Queue rows rendered once and reused.

A queue page shows fifty items, and rendering their rows through the ``item_row`` macro was
most of the page's CPU time (bench/api.py). A row's HTML depends only on what it displays, so
it is cached under exactly that: the language, the item's id, status, priority, team's name (when
shown), source, author and text, and the deadline that still runs with its due time as it reads
("in 3 hours"). Anything that
changes what a row shows changes its key; a row is never shared between languages. The macro
in ``macros.html`` stays the one definition of the markup (it runs on every cache miss)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import jinja2
from markupsafe import Markup

from inbox.domain.deadlines import running_deadline
from inbox.domain.types import ItemSummary, QueueRow
from inbox.web import i18n, names

__all__ = ["RowCache", "StatusLabels", "install"]

MAX_ROWS = 8192



class StatusLabels(Mapping[str, str]):
    """The status names in the current request's language (what ``render.context`` passes as
    ``status_labels``), for templates rendered without the request's context."""

    def __getitem__(self, key: str) -> str:
        if key not in names.STATUSES:
            raise KeyError(key)
        return names.status_name(key)

    def __iter__(self) -> Iterator[str]:
        return iter(names.STATUSES)

    def __len__(self) -> int:
        return len(names.STATUSES)


class RowCache:
    """HTML of ``item_row`` by displayed content; least recently used rows dropped first."""

    def __init__(self, env: jinja2.Environment, max_rows: int = MAX_ROWS) -> None:
        self.env = env
        self.max_rows = max_rows
        self._rows: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()

    def rows(self, items: Sequence[QueueRow | ItemSummary], now: datetime, show_team: bool = False) -> Markup:
        macro = self.env.get_template("macros.html").module.item_row  # type: ignore[attr-defined]
        locale = i18n.current_locale()
        team_title: Callable[[str], str] = self.env.globals["team_title"]  # type: ignore[assignment]  # the name in force
        out = []
        for it in items:
            deadline = running_deadline(it)
            due = (deadline[0], i18n.fmt_due(deadline[1], now)) if deadline else None
            key = (locale, show_team, it.id, it.status, it.priority, team_title(it.team) if show_team else None,
                   it.source, it.author, it.text, due)
            html = self._rows.get(key)
            if html is None:
                html = Markup(macro(it, now, show_team=show_team))
                self._rows[key] = html
                if len(self._rows) > self.max_rows:
                    self._rows.popitem(last=False)
            else:
                self._rows.move_to_end(key)
            out.append(html)
        # every part is Markup already: joined as text (Markup.join would escape each part again)
        return Markup("".join(out))


def install(env: jinja2.Environment, current_settings: Callable[[], Any]) -> None:
    """Make ``macros.html`` importable without the request's context (its helpers become
    globals that read the request's language and the configuration in force when called) and add
    ``item_rows(items, now)``."""
    env.globals.update(i18n.jinja_helpers())
    env.globals.update(names.helpers(current_settings))
    env.globals["status_labels"] = StatusLabels()
    env.globals["running_deadline"] = running_deadline
    env.globals["item_rows"] = RowCache(env).rows
