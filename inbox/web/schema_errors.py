"""The settings schema's complaints about an entry typed in an admin editor, in the reader's
language: pydantic's own error kinds said through the catalogue with their values, the settings'
validators' messages through :func:`inbox.web.error_text.translate_error`. The API answers with
pydantic's English messages; the pages show these."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from inbox.web import i18n
from inbox.web.error_text import translate_error

__all__ = ["field_message"]

_ = i18n.gettext


def _choices(ctx: Mapping[str, Any]) -> str:
    # pydantic says "'a', 'b' or 'c'": the values, listed without the English "or"
    return _("must be one of %(choices)s") % {"choices": str(ctx.get("expected", "")).replace(" or ", ", ")}


_BY_TYPE: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "extra_forbidden": lambda c: _("unknown key"),
    "missing": lambda c: _("required key is missing"),
    "literal_error": _choices,
    "enum": _choices,
    "string_type": lambda c: _("must be text in quotes"),
    "int_type": lambda c: _("must be a whole number"),
    "int_parsing": lambda c: _("must be a whole number"),
    "int_from_float": lambda c: _("must be a whole number"),
    "float_type": lambda c: _("must be a number"),
    "float_parsing": lambda c: _("must be a number"),
    "bool_type": lambda c: _("must be true or false"),
    "bool_parsing": lambda c: _("must be true or false"),
    "list_type": lambda c: _("must be a list, like [\"a\", \"b\"]"),
    "dict_type": lambda c: _("must be a table"),
    "model_type": lambda c: _("must be a table"),
    "greater_than_equal": lambda c: _("must be at least %(n)s") % {"n": c.get("ge")},
    "greater_than": lambda c: _("must be more than %(n)s") % {"n": c.get("gt")},
    "less_than_equal": lambda c: _("must be at most %(n)s") % {"n": c.get("le")},
    "less_than": lambda c: _("must be less than %(n)s") % {"n": c.get("lt")},
    "string_too_short": lambda c: _("must have at least %(n)s characters") % {"n": c.get("min_length")},
    "string_too_long": lambda c: _("must have at most %(n)s characters") % {"n": c.get("max_length")},
    "too_short": lambda c: _("must have at least %(n)s elements") % {"n": c.get("min_length")},
    "too_long": lambda c: _("must have at most %(n)s elements") % {"n": c.get("max_length")},
    "string_pattern_mismatch": lambda c: _("has characters that are not allowed here"),
}


def field_message(kind: str, message: str, ctx: Mapping[str, Any] | None = None) -> str:
    """What the page says about one field: ``kind`` is pydantic's error type (``value_error`` for
    the settings' own checks, whose English ``message`` is translated by its shape)."""
    say = _BY_TYPE.get(kind)
    if say is not None:
        return say(ctx or {})
    return translate_error(message.removeprefix("Value error, "))
