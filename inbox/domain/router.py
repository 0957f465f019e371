"""The router: ordered rules from config first, then the model's label mapped to a team; below the
confidence threshold the item goes to triage; other confident labels add watchers unless the
owning team is private. Pure functions: no I/O, no clock."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inbox.domain.types import Decision, Prediction
from inbox.settings import RoutingSettings, RuleSettings
from routing_models.normalize import without_links_and_handles

__all__ = ["MentionFacts", "Router", "text_rule", "urgency_score", "negative_cue", "priority_with_reasons", "fold",
           "shown_below", "content_words"]

_TOKEN = re.compile(r"\w+(?:-\w+)?")
_RUN = re.compile(r"\w+")
# ASCII text: the bytes that are not word characters (\w) become spaces
_ASCII_NON_RUN = bytes(b if _RUN.fullmatch(chr(b)) or b >= 128 else ord(" ") for b in range(256))


def _word_runs(folded: str) -> set[str] | None:
    """The maximal runs of word characters of an ASCII text (``set(_RUN.findall(folded))``, by a
    byte translation), or None for other text."""
    if not folded.isascii():
        return None
    return set(folded.encode("ascii").translate(_ASCII_NON_RUN).decode("ascii").split())
_WORD = re.compile(r"[^\W\d_]{2,}")  # two or more letters (any script)


def content_words(text: str, enough: int | None = None) -> int:
    """How many words of two or more letters ``text`` has once links and @handles are removed
    (with the classifier's own patterns); counting stops at ``enough``.

    "@acme", "N/A", "...", "😡😡", "https://x.y/z" have none: the model has nothing to read there, and
    its label for them says more about the training sources than about the mention. Hashtags count
    ("#refund" is a word).
    """
    if enough is not None:
        # fast path: a whitespace-separated token made only of letters is a word whatever else the
        # text holds (no link or @handle contains one); most mentions stop here
        n = 0
        for token in text.split():
            if len(token) >= 2 and token.isalpha():
                n += 1
                if n == enough:
                    return n
    n = 0
    for _word in _WORD.finditer(without_links_and_handles(text)):
        n += 1
        if n == enough:
            break
    return n


class _Cues:
    """A cue lexicon matched on folded text by set lookups (whole words), prefixes and phrases:
    far cheaper than one big alternation regex on the ingest hot path."""

    def __init__(self, words: str, prefixes: tuple[str, ...] = (), phrases: tuple[str, ...] = ()) -> None:
        self.words = frozenset(words.split())
        self.prefixes = prefixes
        self.phrases = phrases
        # one C-level scan each says whether any phrase / any prefix occurs at all (most texts hold
        # none); only then are they tried one by one, in their order
        self._any_phrase = re.compile("|".join(map(re.escape, phrases))) if phrases else None
        self._any_prefix = re.compile("|".join(map(re.escape, prefixes))) if prefixes else None
        # a token is made of whole runs of word characters, so a cue word made of one run can only
        # be a token if it is one of the text's runs (_word_runs); the others (rip-off) only if
        # they occur in the text at all
        self._run_words = frozenset(w for w in self.words if _RUN.fullmatch(w))
        self._other_words = tuple(w for w in self.words if not _RUN.fullmatch(w))

    def first(self, folded: str, tokens: list[str] | None = None, runs: set[str] | None = None) -> str | None:
        """The first phrase found, else the first token that is a cue word or starts with a cue
        prefix; ``tokens`` (``_TOKEN.findall(folded)``) may be passed when the caller has them,
        or ``runs`` (``_word_runs(folded)``), which rule most texts out before any token is found."""
        if self._any_phrase is not None and self._any_phrase.search(folded):
            for ph in self.phrases:
                if ph in folded:
                    return ph
        if tokens is None:
            if (runs is not None and self._run_words.isdisjoint(runs)
                    and not any(w in folded for w in self._other_words)
                    and (self._any_prefix is None or not self._any_prefix.search(folded))):
                return None
            tokens = _TOKEN.findall(folded)
        # a token with a cue prefix has it as a substring: substring tests rule most texts out cheaply
        if self.words.isdisjoint(tokens) and (self._any_prefix is None or not self._any_prefix.search(folded)):
            return None
        for tok in tokens:
            if tok in self.words or (self.prefixes and tok.startswith(self.prefixes)):
                return str(tok)
        return None


_URGENT = _Cues(
    "urgent urgente urgenti urgently asap immediately emergency subito immediatamente emergenza scandal "
    "scandalo scandale lawsuit denuncia diffida boycott disgusting vergogna schifo truffa scam fraud "
    "dangerous fire incendio exploded explosion esploso esplosa esplosione poisoning poisoned recalled "
    "avvelenamento unsafe anaphylaxis electrocuted overheated overheating surriscaldato surriscaldata "
    "richiamato",
    prefixes=("boicott", "pericolos", "injur", "ferit", "intossica", "ustion", "incendiat"),
    # product safety (the config's "product-safety" rule routes such mentions; these raise their priority
    # whichever team gets them, press stories included)
    phrases=("class action", "caught fire", "allergic reaction", "food poisoning", "reazione allergica",
             "preso fuoco", "shock anafilattico", "product recall", "safety recall", "richiamo del prodotto",
             "richiamo del lotto"))
# strong negative sentiment without urgency (EN and IT)
_NEGATIVE = _Cues(
    "terrible awful worst horrible horrendous useless unacceptable pathetic ridiculous furious angry ripoff "
    "rip-off garbage rubbish hate incompetent pessimo pessima pessimi pessime orribile orribili schifoso "
    "schifosa schifosi schifose vergognoso vergognosa vergognosi vergognose inaccettabile inaccettabili "
    "deluso delusa delusi deluse delusione ridicolo ridicola ridicoli ridicole furioso furiosa furiosi "
    "furiose arrabbiato arrabbiata arrabbiati arrabbiate inutile inutili odio incompetenti ladri "
    "disservizio vergognatevi", prefixes=("disappoint",), phrases=("never again", "mai piu"))


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def shown_below(value: float, limit: float, *, scale: float = 1.0, min_digits: int = 2) -> tuple[str, str]:
    """``value`` and ``limit`` (times ``scale``) as decimals with the fewest digits, from
    ``min_digits``, at which the shown value is still below the shown limit: 0.497 against 0.5 is
    "0.497" / "0.500", never "0.50 is below 0.50"."""
    digits = min_digits
    while digits < 6 and round(value * scale, digits) >= round(limit * scale, digits):
        digits += 1
    return f"{value * scale:.{digits}f}", f"{limit * scale:.{digits}f}"


def fold(text: str) -> str:
    """Lower-case, accents removed: 'È già' -> 'e gia'. Keywords and text are compared folded."""
    if text.isascii():  # the common case costs one C call
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()


_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_LOWER = bytes(range(ord("a"), ord("z") + 1))


def _shouting(text: str) -> bool:
    """At least 12 letters, over 70% of them upper case."""
    if text.isascii():  # counted by C-level byte deletions instead of a call per character
        raw = text.encode("ascii")
        n_upper = len(raw) - len(raw.translate(None, _ASCII_UPPER))
        n_alpha = n_upper + len(raw) - len(raw.translate(None, _ASCII_LOWER))
    else:
        n_alpha = sum(map(str.isalpha, text))
        n_upper = sum(map(str.isupper, text))
    return n_alpha >= 12 and n_upper / n_alpha > 0.7


def _urgency(text: str, folded: str, tokens: list[str] | None, runs: set[str] | None = None) -> tuple[int, str | None]:
    cue = _URGENT.first(folded, tokens, runs)
    score = (1 if cue else 0) + (1 if _shouting(text) else 0) + (1 if "!!!" in text else 0)
    return min(score, 2), cue


def urgency_score(text: str) -> int:
    """0, 1 or 2 from urgency and strong negative cues (EN and IT) and shouting."""
    folded = fold(text)
    return _urgency(text, folded, _TOKEN.findall(folded))[0]


def negative_cue(text: str) -> str | None:
    """The first strong negative-sentiment word (EN or IT), or None."""
    return _NEGATIVE.first(fold(text))


def priority_with_reasons(text: str, reach: int | None, high_reach: int = 10_000,
                          folded: str | None = None) -> tuple[int, list[str]]:
    """Base priority (1 normal, up to 3 urgent) and the reasons that raised it (``folded``:
    ``fold(text)``, when the caller has it)."""
    if folded is None:
        folded = fold(text)
    runs = _word_runs(folded)
    tokens = _TOKEN.findall(folded) if runs is None else None  # with runs, found only when needed
    p, reasons = 1, []
    u, cue = _urgency(text, folded, tokens, runs)
    if u:
        p += u
        reasons.append(f"urgency cues{' (' + cue + ')' if cue else ''} +{u}")
    else:
        neg = _NEGATIVE.first(folded, tokens, runs)
        if neg:
            p += 1
            reasons.append(f"negative sentiment ({neg}) +1")
    if reach is not None and reach >= high_reach:
        p += 1
        reasons.append(f"author reach {reach} >= {high_reach} +1")
    if p > 3:
        reasons.append("capped at 3")
    return min(p, 3), reasons


@dataclass(frozen=True, slots=True)
class MentionFacts:
    """What rules can look at."""

    text: str
    source: str
    platform: str
    author: str | None
    lang: str | None
    reach: int | None


class _CompiledRule:
    __slots__ = ("rule", "kw", "rx", "authors")

    def __init__(self, rule: RuleSettings) -> None:
        self.rule = rule
        self.kw = (re.compile(r"(?<!\w)(" + "|".join(re.escape(fold(k)) for k in rule.keywords) + r")(?!\w)")
                   if rule.keywords else None)
        self.rx = re.compile(rule.regex, re.IGNORECASE) if rule.regex else None
        self.authors = {a.lower().lstrip("@") for a in rule.author or []}

    def match(self, m: MentionFacts, p: Prediction | None, folded: str) -> dict[str, Any] | None:
        """None when a condition fails, else the evidence of each condition that held."""
        r = self.rule
        # every condition must hold: the cheap ones are tested first, the keyword and regex
        # searches (the costly ones) only when those hold; the evidence keeps the rule's order
        if r.source is not None and m.source not in r.source:
            return None
        if r.platform is not None and m.platform not in r.platform:
            return None
        if r.author is not None and (m.author or "").lower().lstrip("@") not in self.authors:
            return None
        if r.lang is not None and (m.lang or "") not in r.lang:
            return None
        if r.label is not None and (p is None or p.label not in r.label):
            return None
        if r.min_confidence is not None or r.max_confidence is not None:
            if p is None:
                return None
            if r.min_confidence is not None and p.confidence < r.min_confidence:
                return None
            if r.max_confidence is not None and p.confidence > r.max_confidence:
                return None
        if r.min_reach is not None and (m.reach or 0) < r.min_reach:
            return None
        keyword = regex = None
        if self.kw is not None:
            hit = self.kw.search(folded)
            if not hit:
                return None
            keyword = hit.group(1)
        if self.rx is not None:
            hit = self.rx.search(m.text)
            if not hit:
                return None
            regex = hit.group(0)[:200]
        ev: dict[str, Any] = {}
        if r.source is not None:
            ev["source"] = m.source
        if r.platform is not None:
            ev["platform"] = m.platform
        if r.author is not None:
            ev["author"] = m.author
        if r.lang is not None:
            ev["lang"] = m.lang
        if self.kw is not None:
            ev["keyword"] = keyword
        if self.rx is not None:
            ev["regex"] = regex
        if r.label is not None:
            assert p is not None
            ev["label"] = p.label
        if r.min_confidence is not None or r.max_confidence is not None:
            assert p is not None
            ev["confidence"] = round(p.confidence, 4)
        if r.min_reach is not None:
            ev["reach"] = m.reach
        return ev

    def matches(self, m: MentionFacts, p: Prediction | None) -> bool:
        return self.match(m, p, fold(m.text)) is not None


def text_rule(rule: RuleSettings) -> Callable[[str], bool]:
    """Whether a mention's text satisfies ``rule``'s keywords and regex (its conditions on the model's
    label and confidence are left out; one on source, platform, author, language or reach never
    matches a bare text)."""
    compiled = _CompiledRule(rule.model_copy(update={"label": None, "min_confidence": None, "max_confidence": None}))

    def matches(text: str) -> bool:
        return compiled.matches(MentionFacts(text=text, source="", platform="", author=None, lang=None, reach=None),
                                None)

    return matches


class Router:
    """Decides team, priority and watchers for one mention, and records why."""

    def __init__(self, routing: RoutingSettings, rules: list[RuleSettings], private_teams: set[str],
                 high_reach: int = 10_000) -> None:
        self.high_reach = high_reach
        self.reconfigure(routing, rules, private_teams)

    def reconfigure(self, routing: RoutingSettings, rules: list[RuleSettings], private_teams: set[str]) -> None:
        """Decide with these settings from now on (a configuration edited in the app)."""
        self.routing = routing
        self.rules = [_CompiledRule(r) for r in rules]
        self.private = private_teams

    def base_priority(self, m: MentionFacts) -> int:
        return priority_with_reasons(m.text, m.reach, self.high_reach)[0]

    def decide(self, m: MentionFacts, p: Prediction | None, *, is_repost: bool = False) -> Decision:
        model_fields: dict[str, Any] = {}
        explanation: dict[str, Any] = {}
        if p is not None:
            model_fields = dict(label=p.label, confidence=round(p.confidence, 4),
                                probabilities={k: round(v, 4) for k, v in p.probabilities.items()},
                                model_version=p.model_version)
            if p.explanation:
                explanation["top_features"] = {k: [[f, round(float(w), 4)] for f, w in v]
                                               for k, v in p.explanation.items()}
        if is_repost:
            return Decision(team=None, action="repost", priority=0, watchers=[],
                            reason="repost of another mention: recorded, not queued",
                            explanation=explanation or None, **model_fields)
        folded = fold(m.text)
        priority, preasons = priority_with_reasons(m.text, m.reach, self.high_reach, folded)
        watchers: list[str] = []
        team: str | None = None
        fired: list[str] = []
        evidence: dict[str, dict[str, Any]] = {}
        action = "route"
        for cr in self.rules:
            ev = cr.match(m, p, folded)
            if ev is None:
                continue
            r = cr.rule
            fired.append(r.name)
            evidence[r.name] = ev
            if r.priority is not None:
                preasons.append(f"rule {r.name!r} sets priority {r.priority}")
                priority = r.priority
            watchers.extend(w for w in r.watchers if w not in watchers)
            if r.action in ("spam", "ignore"):
                action = r.action
            if r.team is not None and team is None:
                team = r.team
            if r.stop and (r.team is not None or r.action != "route"):
                break
        explanation["priority"] = {"value": priority, "reasons": preasons or ["normal"]}
        if fired:
            explanation["rules"] = [{"name": n, "matched": evidence[n]} for n in fired]
        if action == "ignore":
            return Decision(team=None, action="ignore", priority=priority, watchers=[],
                            reason=f"rule {fired[-1]!r} ignores it", rule=fired[-1], explanation=explanation,
                            **model_fields)
        team_by_rule = team is not None
        wordless = False
        rule: str | None
        if team is not None:
            reason = f"rule {fired[0]!r}" if len(fired) == 1 else "rules " + ", ".join(repr(f) for f in fired)
            rule = ",".join(fired)
        elif p is None:
            team, rule = self.routing.triage_team, ",".join(fired) or None
            reason = "no model prediction: triage"
        elif wordless := (self.routing.min_words > 0
                          and (words := content_words(m.text, self.routing.min_words)) < self.routing.min_words):
            team, rule = self.routing.triage_team, ",".join(fired) or None
            reason = (f"{words} word(s) to classify, fewer than {self.routing.min_words}: triage "
                      f"(model {p.model_version} would say {p.label})")
            explanation["triage"] = {"min_words": self.routing.min_words, "words": words}
        elif p.confidence < self.routing.confidence_threshold:
            team, rule = self.routing.triage_team, ",".join(fired) or None
            shown, limit = shown_below(p.confidence, self.routing.confidence_threshold)
            reason = (f"model {p.model_version}: {p.label} at {shown} is below the "
                      f"confidence threshold {limit}: triage")
            explanation["triage"] = {"threshold": self.routing.confidence_threshold}
        else:
            team, rule = self.routing.label_to_team.get(p.label, self.routing.triage_team), ",".join(fired) or None
            reason = f"model {p.model_version}: {p.label} ({p.confidence:.2f})"
            if fired:
                reason += f"; rules {', '.join(fired)} adjusted priority/watchers"
        if p is not None and not wordless:  # without words the model's runners-up are noise too
            for lab, prob in sorted(p.probabilities.items(), key=lambda kv: -kv[1]):
                wt = self.routing.label_to_team.get(lab)
                candidate = lab != p.label or team == self.routing.triage_team  # triage: top labels watch
                if candidate and prob >= self.routing.watcher_threshold and wt and wt != team \
                        and wt not in watchers:
                    watchers.append(wt)
        if team in self.private:
            watchers = []  # a private team's items are never shared
        else:
            watchers = [w for w in watchers if w != team]
        if action == "spam":
            reason = f"rule {fired[-1]!r} marks it as spam"
        explanation["decided_by"] = "rule" if team_by_rule else ("model" if p is not None else "fallback")
        return Decision(team=team, action=action, priority=priority, watchers=watchers, reason=reason,
                        rule=rule, explanation=explanation, **model_fields)
