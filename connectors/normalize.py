"""Small helpers shared by the pure parse functions: dates, rejects, text checks."""
from __future__ import annotations

import json
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
]

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
        when = datetime(*value[:6], tzinfo=UTC)
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
            rejects.append(Reject(source=source, reason=reason, raw=dump_raw(item), position=position))
            continue
        if mention is not None:
            mentions.append(mention)
    return mentions, rejects
