"""The character set of a document that may not say what it is (feeds, mostly).

A feed names its charset in the HTTP ``Content-Type``, a byte-order mark or its XML declaration.
When it names none and is not UTF-8, or names one its bytes do not decode as, the charset is
detected with charset-normalizer and the document is handed on re-encoded as UTF-8, so the parser
never falls back to a guess of its own (windows-1252 mojibake of a KOI8-R or Shift_JIS feed).
A detection that leaves noticeable mess, or none at all, comes back as a warning.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

import charset_normalizer

__all__ = ["CUT_CHARACTER", "Decoded", "declared_charset", "to_utf8"]

_XML_ENCODING = re.compile(rb"""<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z][A-Za-z0-9._:-]{0,40})["']""")
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
DOUBTFUL_CHAOS = 0.1
"""charset-normalizer's mess ratio above which a detected decoding is reported as doubtful."""


@dataclass(slots=True)
class Decoded:
    """``body`` to parse and the ``content_type`` to parse it with; ``detected`` names the
    charset found by detection (None when the declared or UTF-8 one held); ``warnings`` what a
    reader of the result should know."""

    body: bytes
    content_type: str
    detected: str | None = None
    warnings: list[str] = field(default_factory=list)


def _known(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_charset(body: bytes, content_type: str) -> str | None:
    """The charset the document names: HTTP parameter, then byte-order mark, then XML declaration
    (looked for in the first KB, so leading junk before the declaration does not hide it)."""
    match = _CHARSET_PARAM.search(content_type or "")
    if match:
        return match.group(1)
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    xml = _XML_ENCODING.search(body[:1024])
    return xml.group(1).decode("ascii") if xml else None


def _decodes(body: bytes, charset: str) -> bool:
    try:
        body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _without_cut_character(body: bytes, charset: str) -> bytes | None:
    """``body`` without the partial character a truncated download ends with, when that partial
    character is all that keeps it from decoding as ``charset`` (multi-byte encodings: UTF-8, UTF-16...)."""
    for k in range(1, 4):
        if len(body) > k and _decodes(body[:-k], charset):
            return body[:-k]
    return None


CUT_CHARACTER = "document ends inside a character (truncated?): its last bytes were dropped"


def to_utf8(body: bytes, content_type: str) -> Decoded:
    """``body`` ready for a parser that honours ``content_type`` (see the module docstring)."""
    declared = declared_charset(body, content_type)
    mime = (content_type or "application/xml").split(";", 1)[0].strip() or "application/xml"
    if declared is not None and _known(declared):
        if _decodes(body, declared):
            if codecs.lookup(declared).name.startswith(("utf-16", "utf-32")):
                # a wide encoding known only from its byte-order mark: the XML parser is handed UTF-8
                return Decoded(_redeclare(body.decode(declared)), f"{mime}; charset=utf-8")
            return Decoded(body, content_type)
        whole = _without_cut_character(body, declared)
        if whole is not None:
            return Decoded(_redeclare(whole.decode(declared)), f"{mime}; charset=utf-8", None, [CUT_CHARACTER])
    if declared is None:
        if _decodes(body, "utf-8"):
            return Decoded(body, f"{mime}; charset=utf-8")
        whole = _without_cut_character(body, "utf-8")
        if whole is not None:
            return Decoded(whole, f"{mime}; charset=utf-8", None, [CUT_CHARACTER])
    best = _detect(body)
    if best is None:
        text = body.decode("utf-8", errors="replace")
        warning = (f"charset {declared!r} does not decode the document" if declared else "no charset declared")
        warnings = [f"{warning}, and none could be detected: undecodable bytes replaced"]
        return Decoded(_redeclare(text), f"{mime}; charset=utf-8", None, warnings)
    text = str(best)
    warnings = []
    if declared is not None:
        warnings.append(f"charset {declared!r} does not decode the document; read as {best.encoding}")
    if best.chaos >= DOUBTFUL_CHAOS:
        warnings.append(f"charset detected as {best.encoding} with doubt (mess ratio {best.chaos:.2f})")
    return Decoded(_redeclare(text), f"{mime}; charset=utf-8", best.encoding, warnings)


WEB_DEFAULT = "cp1252"
"""What a Western document that does not say its charset is written in, most of the time (the
WHATWG encoding standard reads ISO-8859-1 and US-ASCII labels as windows-1252 for that reason)."""


def _detect(body: bytes) -> charset_normalizer.CharsetMatch | None:
    """charset-normalizer's best match; among the matches that read the text exactly as well as
    the best one (a few accented letters tell windows-1250 and windows-1252 apart only by the
    language), windows-1252."""
    matches = charset_normalizer.from_bytes(body)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.chaos == best.chaos and match.coherence == best.coherence and match.encoding == WEB_DEFAULT:
            return match
    return best


def _redeclare(text: str) -> bytes:
    """UTF-8 bytes of ``text`` whose XML declaration, if any, says so."""
    text = text.lstrip("\ufeff")
    head = _XML_ENCODING.sub(lambda m: m.group(0).replace(m.group(1), b"utf-8"), text[:1024].encode("utf-8"), count=1)
    return head + text[1024:].encode("utf-8") if len(text) > 1024 else head
