"""Small helpers shared by the pure parse functions: dates, rejects, text checks.

Dates: :func:`parse_datetime` reads the machine formats (ISO 8601, epoch, ``struct_time``);
:func:`lenient_datetime` also reads human ones in any language (``lun, 03 mar 2025``,
``3 марта 2025``) with dateparser, and :func:`pick_created_at` takes the first plausible date of
a platform's candidates, then the fetch time, saying which in the mention's ``provenance``.
"""
from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from .base import Mention, Reject

__all__ = [
    "ItemError",
    "parse_datetime",
    "to_iso",
    "dump_raw",
    "require",
    "require_text",
    "parse_items",
    "item_key",
    "lenient_datetime",
    "pick_created_at",
    "PLAUSIBLE_YEARS",
    "UNREADABLE_DATE",
]

UNREADABLE_DATE = "is not a date"
"""What :func:`pick_created_at` writes in the provenance of a date it had to pass over."""

PLAUSIBLE_YEARS = (1990, 2100)
"""A created_at outside these years is a broken date, not a date (the inbox refuses it too)."""

T = TypeVar("T")


class ItemError(ValueError):
    """One item cannot be normalized; the parse function turns it into a :class:`Reject`."""


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 string, epoch seconds (int/float/numeric string) or ``struct_time`` → aware UTC.

    Naive values are taken as UTC. Returns None for None/empty; raises ``ItemError`` for junk.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ItemError(f"not a date: {value!r}")
    try:
        return _parse_datetime(value)
    except (OverflowError, OSError):  # absurd epochs and years: one bad item, not a failed poll
        raise ItemError(f"date out of range: {str(value)[:64]!r}") from None


def _parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, (int, float)):
        when = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, time.struct_time):
        try:
            when = datetime(*value[:6], tzinfo=UTC)
        except ValueError:  # a parser's tuple with year 0, month 13 ...: junk, like a junk string
            raise ItemError(f"not a date: {time.strftime('%Y-%m-%d %H:%M:%S', value)!r}") from None
    elif isinstance(value, str):
        text = value.strip()
        try:
            when = datetime.fromtimestamp(float(text), UTC)
        except ValueError:
            try:
                when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError as exc:
                raise ItemError(f"not a date: {value!r}") from exc
    else:
        raise ItemError(f"not a date: {value!r}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


_DATEPARSER_SETTINGS = {
    "RETURN_AS_TIMEZONE_AWARE": True, "TO_TIMEZONE": "UTC", "TIMEZONE": "UTC",
    "PARSERS": ["timestamp", "custom-formats", "absolute-time"],  # never "yesterday" relative to now
    "REQUIRE_PARTS": ["day", "month", "year"],
}
# the languages feeds and platforms write dates in; a date in another one falls back (and says so)
_DATE_LANGUAGES = ["en", "it", "fr", "de", "es", "pt", "nl", "ca", "ro", "pl", "cs", "hu", "sv", "da", "nb", "fi",
                   "tr", "el", "ru", "uk", "ja", "zh", "ko"]
_DIGIT = re.compile(r"\d")
_localized_parser: Any = None


@functools.lru_cache(maxsize=4096)
def _localized(text: str) -> datetime | None:
    """dateparser over :data:`_DATE_LANGUAGES`, one parser kept (it tries the language that worked
    last first, so a feed's dates cost a millisecond or two after the first); cached by text,
    since a feed is read again on every poll."""
    global _localized_parser
    if _localized_parser is None:
        # loaded on first need (most platforms send ISO 8601); dateparser ships no type hints
        from dateparser.date import DateDataParser  # type: ignore[import-untyped]

        _localized_parser = DateDataParser(languages=_DATE_LANGUAGES, try_previous_locales=True,
                                           settings=_DATEPARSER_SETTINGS)
    try:
        found = _localized_parser.get_date_data(text).date_obj
    except (ValueError, OverflowError, TypeError):
        return None
    return found.astimezone(UTC) if isinstance(found, datetime) and found.tzinfo else None


def lenient_datetime(value: Any) -> tuple[datetime | None, str | None]:
    """``(when, how)``: :func:`parse_datetime`, else for text with a digit in it a parse of
    localized day and month names (dateparser; ``how`` is then ``"localized"``); ``(None, why)``
    when nothing sensible comes out, a date outside :data:`PLAUSIBLE_YEARS` included."""
    how = None
    try:
        when = parse_datetime(value)
    except ItemError as exc:
        when, how = None, str(exc)
        text = value.strip()[:200] if isinstance(value, str) else ""
        if _DIGIT.search(text):
            when = _localized(text)
            how = "localized" if when is not None else how
    if when is not None and not PLAUSIBLE_YEARS[0] <= when.year <= PLAUSIBLE_YEARS[1]:
        return None, f"date out of range: {str(value)[:64]!r}"
    return when, how


def pick_created_at(
    candidates: Iterable[tuple[str, Any]], fetched_at: datetime | None, provenance: dict[str, str]
) -> datetime | None:
    """The first candidate ``(field name, value)`` that is a plausible date; else ``fetched_at``.
    Anything but the first candidate read as usual is noted in ``provenance["created_at"]``."""
    problems: list[str] = []
    for index, (name, value) in enumerate(candidates):
        if value is None or value == "":
            continue
        when, how = lenient_datetime(value)
        if when is None:
            problems.append(f"{name} {str(value)[:64]!r} {UNREADABLE_DATE}")
            continue
        if index or problems or how:
            notes = [*problems, f"{name} read as a localized date"] if how else problems
            provenance["created_at"] = f"{name}" + (f" ({'; '.join(notes)})" if notes else "")
        return when
    if fetched_at is not None:
        provenance["created_at"] = "fetch time" + (f" ({'; '.join(problems)})" if problems else " (no date given)")
    return fetched_at


def to_iso(when: datetime) -> str:
    """Aware datetime → ``2025-05-19T17:10:09.813000Z`` (what cursors store)."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def dump_raw(item: Any) -> str:
    """The raw item as text for a :class:`Reject` (JSON when possible)."""
    if isinstance(item, (bytes, bytearray)):
        return bytes(item).decode("utf-8", errors="replace")
    if isinstance(item, str):
        return item
    try:
        return json.dumps(item, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(item)


def require(mapping: Any, key: str) -> Any:
    """``mapping[key]``, refusing a non-dict item or a missing/empty value with ``ItemError``."""
    if not isinstance(mapping, dict):
        raise ItemError(f"expected an object, got {type(mapping).__name__}")
    value = mapping.get(key)
    if value is None or value == "":
        raise ItemError(f"missing {key!r}")
    return value


def require_text(text: str) -> str:
    """Refuse an item whose normalized text is empty."""
    if not text or not text.strip():
        raise ItemError("empty text")
    return text


_ID_FIELDS = ("uri", "name", "id", "objectID", "guid", "event_id", "link")


def item_key(item: Any, depth: int = 0) -> str | None:
    """The platform identity of a raw item, as far as it can be read: the first of its ``uri``,
    ``name``, ``id``, ``objectID``, ``guid``, ``event_id`` or ``link`` (or of its ``data``, the
    Reddit envelope); None when it has none. What a :class:`Reject` is remembered by."""
    if not isinstance(item, dict) or depth > 2:
        return None
    for name in _ID_FIELDS:
        value = item.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return f"{name}:{value}"
    return item_key(item.get("data"), depth + 1)


def parse_items(
    items: Iterable[Any], source: str, build: Callable[[Any], Mention | None]
) -> tuple[list[Mention], list[Reject]]:
    """Apply ``build`` to each item; ``None`` skips it, ``ItemError``/``KeyError``/``TypeError``
    rejects it with its position and raw JSON."""
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for position, item in enumerate(items):
        try:
            mention = build(item)
        except (ItemError, KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = str(exc) if isinstance(exc, ItemError) else f"{type(exc).__name__}: {exc}"
            rejects.append(Reject(source=source, reason=reason, raw=dump_raw(item), position=position,
                                  key=item_key(item)))
            continue
        if mention is not None:
            mentions.append(mention)
    return mentions, rejects
