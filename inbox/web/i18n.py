"""English and Italian for the web app: gettext catalogues compiled from the .po files under
``locale/`` at start-up (in memory, so a fresh clone needs no build step), the locale chosen per
request (the user's preference, else the browser's Accept-Language), and Babel formatting of
dates, durations and numbers in that locale.

Updating the catalogue: ``pybabel extract -F inbox/web/babel.cfg -o /tmp/messages.pot inbox/web``,
then ``pybabel update -i /tmp/messages.pot -d inbox/web/locale`` and translate the new entries."""
from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

__all__ = ["N_", "LOCALES", "DEFAULT", "translations", "negotiate", "use_locale", "current_locale", "gettext",
           "ngettext", "template_gettext", "decimal_mark", "delta_words", "fmt_datetime", "fmt_age", "fmt_number",
           "fmt_percent", "fmt_seconds"]

LOCALES = ("en", "it")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def N_(message: str) -> str:
    """Marks a string for extraction (``pybabel extract -k N_``); translated where it is shown."""
    return message


_CURRENT: ContextVar[str] = ContextVar("inbox_locale", default=DEFAULT)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``locale``: its .po read and compiled to .mo in memory once per
    process (a .mo committed next to it is not needed and not used)."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT or not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def negotiate(preferred: str | None, accept_language: str | None) -> str:
    """The user's own choice when supported, else the best match of the Accept-Language header."""
    if preferred in LOCALES:
        return str(preferred)
    return _negotiate_header(accept_language)


@lru_cache(maxsize=256)  # a browser sends the same header on every request (babel's matching is slow)
def _negotiate_header(accept_language: str | None) -> str:
    if accept_language:
        weighted: list[tuple[float, str]] = []
        for part in accept_language.split(",")[:20]:
            tag, _, q = part.strip().partition(";")
            try:
                weight = float(q.split("=", 1)[1]) if q.strip().startswith("q=") else 1.0
            except ValueError:
                weight = 0.0
            if tag and weight > 0:
                weighted.append((weight, tag.strip().replace("_", "-")))
        weighted.sort(key=lambda t: -t[0])
        found = Locale.negotiate([t for _, t in weighted], list(LOCALES), sep="-")
        if found is not None:
            return str(found.language)
        for _, tag in weighted:  # "it-CH" matches "it"
            base = tag.split("-")[0].lower()
            if base in LOCALES:
                return base
    return DEFAULT


def use_locale(locale: str) -> None:
    _CURRENT.set(locale if locale in LOCALES else DEFAULT)


def current_locale() -> str:
    return _CURRENT.get()


def gettext(message: str) -> str:
    return translations(_CURRENT.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_CURRENT.get()).ngettext(singular, plural, n)


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, message: str, /, **variables: Any) -> str:
    """The templates' ``_()``: what jinja2's newstyle gettext returns (the translation, as Markup
    when autoescaping, always %-formatted with ``variables``, so "%%" reads "%" and every variable
    is escaped), in one call instead of three. A catalogue does not change while the process runs,
    so each message's translation is kept per locale, formatted already when it has no variables."""
    if not eval_ctx.autoescape:
        return translations(_CURRENT.get()).gettext(message) % variables
    if variables:
        return _translated_markup(_CURRENT.get(), message) % variables
    return _translated_plain(_CURRENT.get(), message)


@lru_cache(maxsize=4096)
def _translated_markup(locale: str, message: str) -> Markup:
    return Markup(translations(locale).gettext(message))


@lru_cache(maxsize=4096)
def _translated_plain(locale: str, message: str) -> Markup:
    return _translated_markup(locale, message) % {}


def _loc() -> Locale:
    return _locale(_CURRENT.get())


@lru_cache(maxsize=32)
def _locale(code: str) -> Locale:
    # parsed once per locale: Locale.parse and its data lookups cost more than the formatting
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):  # pragma: no cover - LOCALES are known
        return Locale.parse(DEFAULT)


def fmt_datetime(value: datetime | str | None, fmt: str = "medium") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        when = value
    return _datetime_text(_CURRENT.get(), when, fmt)


@lru_cache(maxsize=4096)
def _datetime_text(locale: str, when: datetime, fmt: str) -> str:
    # an item page shows a dozen timestamps (posted, history, notes, earlier mentions), the same
    # ones on every view of it; equal datetimes are the same instant, shown in UTC
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return dates.format_datetime(when, format=fmt, tzinfo=UTC, locale=_locale(locale))


def fmt_date(value: str | datetime) -> str:
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        when = value
    return dates.format_date(when, format="medium", locale=_loc())


def fmt_day_short(value: str) -> str:
    """'2026-11-26' -> 'Nov 26' / '26 nov'."""
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        return value
    return dates.format_skeleton("MMMd", d, locale=_loc())


def fmt_seconds(seconds: float | int | None) -> str:
    """A duration in words: '3 hours', '2 giorni'."""
    if seconds is None:
        return "—"
    # babel reads the duration as a timedelta would hold it (to the microsecond)
    return _delta_text(timedelta(seconds=float(seconds)).total_seconds(), direction=False)


def fmt_age(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "—"
    return fmt_seconds(max(0.0, (now - value).total_seconds()))


def fmt_due(value: datetime | None, now: datetime) -> str:
    """'in 3 hours' / '2 hours ago' relative to now (to the second)."""
    if value is None:
        return "—"
    return _delta_text(round((value - now).total_seconds()), direction=True)


#: a duration's words by what they say (see :func:`delta_words`), per locale and direction
_DELTAS: dict[tuple[str, bool, bool, str, int], str] = {}
_DELTAS_MAX = 4096


def delta_words(seconds: float) -> tuple[str, int]:
    """The unit and count that babel's ``format_timedelta`` (threshold 1.5, to the second) puts
    into words for ``seconds``: its text depends on nothing else but the locale and, with a
    direction, the sign. A queue page shows fifty due times that move every second while their
    words ("in 3 hours") stay, and each babel call costs tens of microseconds."""
    magnitude = abs(seconds)
    for unit, per_unit in dates.TIMEDELTA_UNITS:
        value = magnitude / per_unit
        if value >= 1.5 or unit == "second":
            if unit == "second" and value > 0:
                value = max(1, value)
            return unit, int(round(value))
    raise AssertionError("unreachable: the last unit is the second")  # pragma: no cover


def _delta_text(seconds: float, *, direction: bool) -> str:
    locale = _CURRENT.get()
    key = (locale, direction, direction and seconds < 0, *delta_words(seconds))
    text = _DELTAS.get(key)
    if text is None:
        text = dates.format_timedelta(timedelta(seconds=seconds), threshold=1.5, add_direction=direction,
                                      locale=_locale(locale))
        if len(_DELTAS) < _DELTAS_MAX:
            _DELTAS[key] = text
    return text


def decimal_mark() -> str:
    """The current locale's decimal separator ("." in English, "," in Italian)."""
    return numbers.get_decimal_symbol(_loc())


def fmt_number(value: float | int | None) -> str:
    if value is None:
        return "—"
    return _number_text(_CURRENT.get(), type(value).__name__, value)


def fmt_percent(value: float | None, *, ratio: bool = True) -> str:
    """0.91 -> '91%' (or 91.0 with ratio=False)."""
    if value is None:
        return "—"
    shown = value if ratio else value / 100
    return _percent_text(_CURRENT.get(), type(shown).__name__, shown)


# Numbers shown on every page (counts, an item's label probabilities) repeat from one view to the
# next; keyed by type as well, since 1 and 1.0 are equal keys but need not format alike.
@lru_cache(maxsize=4096)
def _number_text(locale: str, _kind: str, value: float) -> str:
    return numbers.format_decimal(value, locale=_locale(locale))


@lru_cache(maxsize=4096)
def _percent_text(locale: str, _kind: str, value: float) -> str:
    return numbers.format_percent(value, format="#,##0.#%", locale=_locale(locale))


def language_name(code: str | None) -> str:
    if not code:
        return "—"
    return _language_name(_CURRENT.get(), code)


@lru_cache(maxsize=1024)
def _language_name(locale: str, code: str) -> str:
    try:
        return Locale.parse(code).get_display_name(_locale(locale)) or code
    except (UnknownLocaleError, ValueError):
        return code


def all_msgids(locale: str) -> Iterable[str]:  # for tests: what the catalogue translates
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    return [m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string]


def jinja_helpers() -> dict[str, Any]:
    return {"fmt_datetime": fmt_datetime, "fmt_date": fmt_date, "fmt_seconds": fmt_seconds, "fmt_age": fmt_age,
            "fmt_due": fmt_due, "fmt_number": fmt_number, "fmt_percent": fmt_percent,
            "language_name": language_name}
