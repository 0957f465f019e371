"""The web app's cheaper paths to the same words: the templates' ``_()`` gives exactly what
jinja2's newstyle gettext gives, and the kept duration, number and date texts are babel's."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
import pytest
from babel import dates, numbers

from inbox.web import i18n


@pytest.fixture(params=i18n.LOCALES)
def locale(request: Any) -> Any:
    i18n.use_locale(request.param)
    yield request.param
    i18n.use_locale(i18n.DEFAULT)


def _env(ours: bool) -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    if ours:
        env.globals["_"] = i18n.template_gettext
    return env


@pytest.mark.parametrize("source", [
    '{{ _("Queues") }}|{{ _("Notifications, %(n)s unread", n=n) }}|{{ _("Share within SLA (%%)") }}',
    '{{ _("assigned to %(name)s", name=who) }}|{{ _("Replies cannot be sent from here: %(why)s", why=who) }}',
    '{% autoescape false %}{{ _("assigned to %(name)s", name=who) }}{{ _("Share (%%)") }}{% endautoescape %}',
    '{% for x in [1, 2] %}{{ _("Resolve") }}{{ _("%(n)s open", n=x) }}{% endfor %}{{ _("%(message)s", message=who) }}',
])
def test_template_gettext_is_jinja2s_newstyle_gettext(locale: str, source: str) -> None:
    """Same text and the same escaping of variables (untrusted text stays escaped), in both
    languages, with autoescape on and off, "%%" and variables named like the message."""
    ctx = {"n": 3, "who": '<script>alert("x")</script> & co'}
    want = _env(False).from_string(source).render(ctx)
    got = _env(True).from_string(source).render(ctx)
    assert got == want
    if "autoescape false" not in source and "who" in source:
        assert "<script>" not in got and "&lt;script&gt;" in got


def test_duration_words_are_babels(locale: str) -> None:
    """fmt_due and fmt_seconds keep a text per unit and count: each equals babel's own call, across
    seconds, minutes, hours, days, weeks, months and years, both signs and the boundaries."""
    rng = random.Random(19)
    values = [0, 0.4, -0.4, 0.5, 1, 1.49, 1.5, 59, 89, 90, 91, 5399, 5400, 129599, 129600, 10 * 86400,
              int(10.5 * 86400), 45 * 86400, 400 * 86400]
    values += [rng.uniform(-3e8, 3e8) for _ in range(3000)] + [rng.uniform(-200, 200) for _ in range(1000)]
    now = datetime(2026, 12, 6, 6, 30, tzinfo=UTC)
    for v in values:
        due = now + timedelta(seconds=v)
        want = dates.format_timedelta(timedelta(seconds=round((due - now).total_seconds())), threshold=1.5,
                                      add_direction=True, locale=locale)
        assert i18n.fmt_due(due, now) == want, v
        if v >= 0:
            assert i18n.fmt_seconds(v) == dates.format_timedelta(timedelta(seconds=v), threshold=1.5, locale=locale), v


def test_kept_numbers_and_dates_are_babels(locale: str) -> None:
    """Numbers, percentages and dates, kept per value, equal babel's; equal values of other types
    (1 and 1.0) are kept apart."""
    for v in (0, 1, 1.0, 0.0, 12345, 12345.0, 1234.5, 0.915, 0.5, 1e9):
        assert i18n.fmt_number(v) == numbers.format_decimal(v, locale=locale)
        assert i18n.fmt_percent(v) == numbers.format_percent(v, format="#,##0.#%", locale=locale)
    when = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    same_instant = when.astimezone(datetime.fromisoformat("2026-03-02T01:30:00+02:00").tzinfo)
    for fmt in ("short", "medium"):
        want = dates.format_datetime(when, format=fmt, tzinfo=UTC, locale=locale)
        assert i18n.fmt_datetime(when, fmt) == want
        assert i18n.fmt_datetime(same_instant, fmt) == want
        assert i18n.fmt_datetime(when.replace(tzinfo=None), fmt) == want
        assert i18n.fmt_datetime(when.isoformat(), fmt) == want
