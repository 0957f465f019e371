"""Reading untrusted request input before any model sees it: a JSON body within a size and a
nesting limit, with no invalid Unicode; text without control characters; whole numbers written
only with the ASCII digits. Every refusal is an :class:`inbox.errors.DomainError` (413 or 422),
which the problem middleware answers as problem+json, never a 500.

orjson parses the body: it refuses invalid UTF-8, lone surrogates (raw or as ``\\ud800``
escapes), NaN and Infinity, and nesting beyond 1024 levels without recursion; the depth walk
below then holds bodies to :data:`MAX_DEPTH`."""
from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from inbox.errors import DomainError, Invalid

__all__ = ["MAX_BODY", "MAX_DEPTH", "BodyTooLarge", "MalformedBody", "read_limited", "read_json_object",
           "read_form", "json_depth", "check_text", "ascii_int", "TEXT_PATTERN", "ASCII_DIGITS"]

MAX_BODY = 64 * 1024
MAX_DEPTH = 16
ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
# text that a person typed: any character but C0/C1 control characters other than tab and newlines
_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
TEXT_PATTERN = f"^[^{_CONTROL}]*$"
_BAD_TEXT = re.compile(f"[{_CONTROL}]")


class BodyTooLarge(DomainError):
    status, title = 413, "Content too large"


class MalformedBody(DomainError):
    status, title = 400, "Bad request"


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField]:
    """A web form's fields (urlencoded or multipart; aiohttp caches them, so a second call is
    free); a body that cannot be parsed (no or wrong boundary, truncated, unknown charset) is a
    400, not a 500. Invalid UTF-8 in an urlencoded value arrives as U+FFFD."""
    try:
        return await request.post()
    except (ValueError, LookupError, EOFError, asyncio.IncompleteReadError) as e:
        raise MalformedBody(f"the form could not be read: {e}") from None


async def read_limited(request: web.Request, max_bytes: int) -> bytes:
    """The raw body, refused (413) as soon as it is longer than ``max_bytes``; nothing more is read."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyTooLarge(f"the body is {request.content_length} bytes; the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(min(65536, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(f"the body is longer than {max_bytes} bytes")
    return b"".join(chunks)


def json_depth(value: Any, limit: int) -> int:
    """The nesting depth of a parsed JSON value (a scalar is 0), without recursion; stops counting
    past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        d += 1
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        stack.extend((c, d) for c in children if isinstance(c, (dict, list)))
    return deepest


async def read_json_object(request: web.Request, *, max_bytes: int = MAX_BODY,
                           max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The body as a JSON object ({} when empty): 413 when too large, 422 when it is not JSON,
    not an object, nested deeper than ``max_depth`` or holds invalid Unicode."""
    raw = await read_limited(request, max_bytes)
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise Invalid(f"the request body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise Invalid("the request body must be a JSON object")
    if json_depth(data, max_depth) > max_depth:
        raise Invalid(f"the request body is nested deeper than {max_depth} levels")
    return data


def check_text(value: str) -> str:
    """``value`` unchanged, or ValueError when it holds a control character (NUL included) or a
    lone surrogate (a query string can carry one even where JSON cannot)."""
    m = _BAD_TEXT.search(value)
    if m is not None:
        raise ValueError(f"contains the control character U+{ord(m.group()):04X}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains invalid Unicode (a lone surrogate)") from None
    return value


def ascii_int(value: Any) -> Any:
    """For query and path parameters: a string must be 1 to 19 ASCII digits (no sign, space,
    underscore or other script's digits, all of which ``int()`` would take); other values pass
    to the model's own checks."""
    if isinstance(value, str):
        if not ASCII_DIGITS.fullmatch(value):
            raise ValueError("must be a whole number written with the digits 0-9")
        return int(value)
    return value
