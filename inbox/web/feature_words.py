"""The words that weighed most, as a reader says them: the model's features turned back into the
mention's own words.

The classifier's features are normalised (lower case, accents folded, digits as ``0``) word
n-grams (``w:non_funziona``), character n-grams (``c:_rimb``) and cue groups
(``lex:care_problem``). None of these is for people: a word n-gram is shown as the words of the
mention it came from ("di 12"), a character n-gram as the mention's words that contain it, and a
cue group as its meaning followed by the mention's words from it ("problem words: rimborso, non
funziona"). A feature that cannot be found in the mention (e.g. one recomputed by another model)
is left out rather than shown by its internal name."""
from __future__ import annotations

import re
from collections.abc import Iterable

from inbox.web import i18n
from routing_models.lexicon import CUE_GROUPS, OTHER_SUFFIX
from routing_models.normalize import EMOJI_TOKEN, REPLY_TOKEN, URL_TOKEN, USER_TOKEN, normalize

__all__ = ["feature_phrases", "GROUP_NAMES"]

N_ = i18n.N_

#: cue group → what its words are about (translated when shown)
GROUP_NAMES = {
    "care_problem": N_("problem words"), "care_request": N_("requests for help"),
    "care_account": N_("order and account words"), "hr_job": N_("job and hiring words"),
    "hr_workplace": N_("workplace words"), "mkt_opinion": N_("opinion words"),
    "mkt_wish": N_("wishes and suggestions"), "mkt_commerce": N_("price and offer words"),
    "pr_finance": N_("finance words"), "pr_corporate": N_("company news words"), "pr_news": N_("press words"),
    "first_person": N_("words about the writer"), "second_person": N_("words addressed to the company"),
}
_PLACEHOLDERS = {URL_TOKEN: N_("a link"), EMOJI_TOKEN: N_("an emoji"), USER_TOKEN: N_("a mention of someone"),
                 REPLY_TOKEN: N_("a mention of someone")}
_WORD = re.compile(r"[\w']+|https?://\S+|@\w+")


def _tokens(text: str) -> list[tuple[str, str]]:
    """(the word as written, its normalised form) for each word of ``text``."""
    out = []
    for m in _WORD.finditer(text):
        norm = normalize(m.group(0)).strip(" .,!?;:")
        for part in norm.split() or [""]:
            out.append((m.group(0), part))
    return out


def _find(tokens: list[tuple[str, str]], words: list[str]) -> str | None:
    """The mention's own words for the normalised sequence ``words``, if it occurs."""
    n = len(words)
    for i in range(len(tokens) - n + 1):
        if [t[1] for t in tokens[i:i + n]] == words:
            seen: list[str] = []
            for written, _ in tokens[i:i + n]:
                if not seen or seen[-1] != written:
                    seen.append(written)
            return " ".join(seen)
    return None


def _word_ngram(tokens: list[tuple[str, str]], body: str) -> str | None:
    words = body.split("_")
    if len(words) == 1 and words[0] in _PLACEHOLDERS:
        return i18n.gettext(_PLACEHOLDERS[words[0]])
    return _find(tokens, words)


def _char_ngram(tokens: list[tuple[str, str]], body: str) -> str | None:
    fragment = body.replace("_", " ")
    hits = []
    for written, norm in tokens:
        if norm and fragment.strip() and f" {norm} ".find(fragment) >= 0 and written not in hits:
            hits.append(written)
    return ", ".join(hits[:3]) or None


def _cue_group(tokens: list[tuple[str, str]], group: str) -> str | None:
    base = group[: -len(OTHER_SUFFIX)] if group.endswith(OTHER_SUFFIX) else group
    title = GROUP_NAMES.get(base)
    if title is None:
        return None
    found: list[str] = []
    for phrase in CUE_GROUPS.get(group, []):
        words = _find(tokens, normalize(phrase).split())
        if words and words.lower() not in (f.lower() for f in found):
            found.append(words)
    found = [f for f in found if not any(f != g and f" {f.lower()} " in f" {g.lower()} " for g in found)]
    if not found:
        return None
    return i18n.gettext("%(what)s: %(words)s") % {"what": i18n.gettext(title), "words": ", ".join(found[:4])}


def feature_phrases(features: Iterable[str], text: str) -> list[str]:
    """The readable phrases for the model's feature names, in order, without repeats; features
    that cannot be traced to the mention's words are left out."""
    tokens = _tokens(text)
    out: list[str] = []
    for name in features:
        kind, _sep, body = name.partition(":")
        phrase = (_word_ngram(tokens, body) if kind == "w" else _char_ngram(tokens, body) if kind == "c"
                  else _cue_group(tokens, body) if kind == "lex" else None)
        if phrase and phrase not in out:
            out.append(phrase)
    return out
