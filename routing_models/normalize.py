"""Text normalisation that strips source artefacts before feature extraction.

The training data comes from a handful of sources, each with its own surface
style (tweets full of ``@handles`` and ``#hashtags``, reviews with emoji, news
headlines with figures).  A model that sees those artefacts learns "has an
``@AmericanAir`` handle ⇒ customer_care" instead of the content.  ``normalize``
maps them onto a few shared placeholder tokens so that the features describe
*what is said*, not *where it was scraped from*.

Placeholder tokens (all lower-case ASCII words so the word tokeniser keeps them):

* ``xreply`` – the ``@handle``(s) a text *starts* with (a tweet addressed to an account: a reply or
  a direct complaint/question), one token for the whole leading run
* ``xuser``  – any other ``@handle`` (an account *mentioned* inside the text)
* ``xurl``   – URLs, ``www.`` links, ``{link}`` and ``[link]`` markers
* ``xemoji`` – emoji / pictographs (one token per run)
* aggregator boilerplate such as a leading "Selezionate con Google Alert -" is dropped
* ``0``      – every digit (``14/12/20`` → ``00/00/00``, ``+8,1%`` → ``+0,0%``)
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["normalize", "without_links_and_handles", "USER_TOKEN", "REPLY_TOKEN", "URL_TOKEN", "EMOJI_TOKEN"]

USER_TOKEN = "xuser"
REPLY_TOKEN = "xreply"
URL_TOKEN = "xurl"
EMOJI_TOKEN = "xemoji"

_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+|\{link\}|\[link\]|<link>|\bt\.co/\S+|\bbit\.ly/\S+",
    re.IGNORECASE,
)
# boilerplate prefixes added by aggregators (not written by the author): "Selezionate con Google Alert - #INPS - …"
_BOILERPLATE_RE = re.compile(r"^\s*(?:selezionate con google alert|google alert)\s*-\s*", re.IGNORECASE)
_HANDLE_RE = re.compile(r"(?<![\w@])@\w+")
_LEADING_HANDLES_RE = re.compile(r"^\s*\.?@\w+(?:[\s,:]+@\w+)*")
_HASHTAG_RE = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL_RE = re.compile(r"(?<=[a-zà-ÿ])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_EMOJI_RE = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, supplemental symbols
    "\u2600-\u27bf"  # misc symbols and dingbats
    "\u2b00-\u2bff"  # arrows, stars
    "\u2190-\u21ff"  # arrows
    "\u2300-\u23ff"  # misc technical (⌚ ⏰)
    "\u25a0-\u25ff"  # geometric shapes (▪️)
    "\u3290-\u329f"
    "\ufe0f\u200d\u20e3"  # variation selector, ZWJ, keycap
    "\U000e0020-\U000e007f"  # tag characters (flags)
    "]+"
)
_EMOJI_MIN = "\u200d"  # the lowest character _EMOJI_RE matches (checked by a test)
_EMOTICON_RE = re.compile(r"(?<![\w:])[:;=][\-o']?[\)\(\]\[dpDP/\\|*]+(?![\w/])|<3+")
# ASCII characters that carry no signal after the substitutions above become spaces.
_ASCII_JUNK = "\"#()*<=>@[\\]^_{|}~\t\n\r\x0b\x0c"
# Non-ASCII leftovers that are neither letters nor digits (©, ™, °, box drawing…).
_NONASCII_JUNK_RE = re.compile(r"[^\w\s?!.,:;'%€$£&+/\-]|_")
_PUNCT_RUN_RE = re.compile(r"([!?])[!?]+|(\.)\.\.+")
_CANT_RE = re.compile(r"\b(ca|wo)n't\b")
_NEGATION_RE = re.compile(r"n't\b")


def _fold_table() -> dict[int, str]:
    """Translation table: accented Latin letters → ASCII, typographic punctuation → ASCII."""
    table: dict[int, str] = {}
    for cp in range(0x80, 0x250):
        ch = chr(cp)
        decomposed = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if base != ch and base.isascii() and base:
            table[cp] = base
    table.update(
        {
            ord("ß"): "ss",
            ord("æ"): "ae",
            ord("Æ"): "AE",
            ord("œ"): "oe",
            ord("Œ"): "OE",
            ord("ø"): "o",
            ord("Ø"): "O",
            ord("ł"): "l",
            ord("Ł"): "L",
            ord("đ"): "d",
            ord("Đ"): "D",
            ord("ı"): "i",
            ord("\u2018"): "'",
            ord("\u2019"): "'",
            ord("\u201a"): "'",
            ord("\u201b"): "'",
            ord("\u00b4"): "'",
            ord("`"): "'",
            ord("\u201c"): '"',
            ord("\u201d"): '"',
            ord("\u201e"): '"',
            ord("\u00ab"): '"',
            ord("\u00bb"): '"',
            ord("\u2013"): "-",
            ord("\u2014"): "-",
            ord("\u2212"): "-",
            ord("\u2026"): "...",
            ord("\u00a0"): " ",
            ord("\u2022"): " ",
            ord("\u00b7"): " ",
        }
    )
    for ch in _ASCII_JUNK:
        table[ord(ch)] = " "
    for digit in "123456789":
        table[ord(digit)] = "0"
    return table


_FOLD = _fold_table()


def _ascii_fold_bytes() -> bytes:
    """256-byte table applying :data:`_FOLD`'s ASCII entries (junk → space, digits → 0, backquote →
    apostrophe) and leaving every other byte as it is."""
    table = bytearray(range(256))
    for cp, out in _FOLD.items():
        if cp < 128:
            if len(out) != 1 or not out.isascii():
                raise ValueError(f"the fold of ASCII {chr(cp)!r} must be one ASCII character")
            table[cp] = ord(out)
    if not all(out.isascii() for out in _FOLD.values()):
        raise ValueError("every fold must be ASCII")
    return bytes(table)


_FOLD_ASCII = _ascii_fold_bytes()
_NON_ASCII_RUN_RE = re.compile("[^\x00-\x7f]+")


def _fold_run(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD)


def _fold_ascii(text: str) -> str:
    """``text`` with :data:`_FOLD`'s ASCII entries applied, other characters unchanged. In UTF-8 an
    ASCII byte is always an ASCII character, so one C-level byte translation does it."""
    return text.encode("utf-8", "surrogatepass").translate(_FOLD_ASCII).decode("utf-8", "surrogatepass")


def _fold(text: str) -> str:
    """``text.translate(_FOLD)``, at a fraction of its cost: ``str.translate`` looks every character
    of a non-ASCII text up in the table one by one, while here the ASCII characters (most of them)
    go through a byte translation and only the runs of other characters through ``str.translate``."""
    return _NON_ASCII_RUN_RE.sub(_fold_run, _fold_ascii(text))


def _expand_cant(match: re.Match[str]) -> str:
    return "can not" if match.group(1) == "ca" else "will not"


def _split_hashtag(match: re.Match[str]) -> str:
    body = match.group(1).replace("_", " ")
    return " " + _CAMEL_RE.sub(" ", body) + " "


def _ascii_table() -> bytes:
    """256-byte table for ASCII text: upper → lower case, digits → 0, junk punctuation → space."""
    table = bytearray(range(256))
    for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[ord(ch)] = ord(ch.lower())
    for digit in "123456789":
        table[ord(digit)] = ord("0")
    for ch in _ASCII_JUNK:
        table[ord(ch)] = ord(" ")
    table[ord("`")] = ord("'")
    return bytes(table)


_ASCII_TABLE = _ascii_table()


def _may_have_url(text: str) -> bool:
    """A cheap pre-test for :data:`_URL_RE` (substring tests cost far less than the regex)."""
    return (
        "://" in text
        or "ww." in text
        or "WW." in text
        or "ink" in text
        or "INK" in text
        or ".co/" in text
        or ".ly/" in text
    )


def without_links_and_handles(text: str) -> str:
    """``text`` with every URL, link marker and @handle replaced by a space (what ``normalize`` maps
    to ``xurl`` / ``xreply`` / ``xuser``); the router uses it to see whether any words are left."""
    if _may_have_url(text):
        text = _URL_RE.sub(" ", text)
    if "@" in text:
        text = _HANDLE_RE.sub(" ", text)
    return text


def normalize(text: str) -> str:
    """Return ``text`` lower-cased, accent-folded, with handles/URLs/emoji/hashtags/digits normalised.

    >>> normalize("@AmericanAir my flight #FlightDelayed again 😡 https://t.co/x")
    'xreply my flight flight delayed again xemoji xurl'
    """
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)
    if "lert" in text:
        text = _BOILERPLATE_RE.sub("", text)
    if _may_have_url(text):
        text = _URL_RE.sub(" xurl ", text)
    if "@" in text:
        text = _HANDLE_RE.sub(" xuser ", _LEADING_HANDLES_RE.sub(" xreply ", text, count=1))
    if "#" in text:
        text = _HASHTAG_RE.sub(_split_hashtag, text)
    if ":" in text or ";" in text or "<3" in text or "=" in text:
        text = _EMOTICON_RE.sub(" xemoji ", text)
    if not text.isascii():
        # every character of _EMOJI_RE is at or above U+200D: max() is one C-level pass, far
        # cheaper than the regex's scan, and most accented text stays below it
        text = _fold(_EMOJI_RE.sub(" xemoji ", text) if max(text) >= _EMOJI_MIN else text)
    if text.isascii():
        # fast path (most text after folding): one C-level byte translation
        text = text.encode("ascii").translate(_ASCII_TABLE).decode("ascii")
    else:
        # every fold is ASCII, so what is left of other characters has no fold: only the ASCII
        # entries can apply again (a '"' made of a typographic quote becomes a space)
        text = _NONASCII_JUNK_RE.sub(" ", _fold_ascii(text).lower())
    if "n't" in text:
        text = _NEGATION_RE.sub(" not", _CANT_RE.sub(_expand_cant, text))
    if "!!" in text or "??" in text or "?!" in text or "!?" in text or "..." in text:
        text = _PUNCT_RUN_RE.sub(r"\1\2", text)
    return " ".join(text.split())
