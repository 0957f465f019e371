"""The router: ordered rules from config first, then the model's label mapped to a team; below the
confidence threshold the item goes to triage; other confident labels add watchers unless the
owning team is private. Pure functions: no I/O, no clock."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from inbox.domain import Decision, Prediction
from inbox.settings import RoutingSettings, RuleSettings

__all__ = ["MentionFacts", "Router", "urgency_score"]

_URGENT = re.compile(
    r"\b(urgent[ei]?|urgently|asap|immediately|emergency|subito|immediatamente|emergenza|"
    r"scandal[oe]?|lawsuit|class action|denuncia|diffida|boycott|boicott\w*|"
    r"disgusting|vergogna|schifo|truffa|scam|fraud|dangerous|pericolos\w+|fire|incendio|"
    r"injur\w+|ferit\w+)\b", re.IGNORECASE)


def urgency_score(text: str) -> int:
    """0, 1 or 2 from urgency and strong negative cues (EN and IT) and shouting."""
    score = 1 if _URGENT.search(text) else 0
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        score += 1
    if "!!!" in text:
        score += 1
    return min(score, 2)


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
        self.kw = (re.compile(r"(?<!\w)(" + "|".join(re.escape(k) for k in rule.keywords) + r")(?!\w)",
                              re.IGNORECASE) if rule.keywords else None)
        self.rx = re.compile(rule.regex, re.IGNORECASE) if rule.regex else None
        self.authors = {a.lower().lstrip("@") for a in rule.author or []}

    def matches(self, m: MentionFacts, p: Prediction | None) -> bool:
        r = self.rule
        if r.source is not None and m.source not in r.source:
            return False
        if r.platform is not None and m.platform not in r.platform:
            return False
        if r.author is not None and (m.author or "").lower().lstrip("@") not in self.authors:
            return False
        if r.lang is not None and (m.lang or "") not in r.lang:
            return False
        if self.kw is not None and not self.kw.search(m.text):
            return False
        if self.rx is not None and not self.rx.search(m.text):
            return False
        if r.label is not None and (p is None or p.label not in r.label):
            return False
        if r.min_confidence is not None and (p is None or p.confidence < r.min_confidence):
            return False
        if r.max_confidence is not None and (p is None or p.confidence > r.max_confidence):
            return False
        if r.min_reach is not None and (m.reach or 0) < r.min_reach:
            return False
        return True


class Router:
    """Decides team, priority and watchers for one mention."""

    def __init__(self, routing: RoutingSettings, rules: list[RuleSettings], private_teams: set[str],
                 high_reach: int = 10_000) -> None:
        self.routing = routing
        self.rules = [_CompiledRule(r) for r in rules]
        self.private = private_teams
        self.high_reach = high_reach

    def base_priority(self, m: MentionFacts) -> int:
        p = 1 + urgency_score(m.text)
        if m.reach is not None and m.reach >= self.high_reach:
            p += 1
        return min(p, 3)

    def decide(self, m: MentionFacts, p: Prediction | None, *, is_repost: bool = False) -> Decision:
        model_fields: dict[str, Any] = {}
        if p is not None:
            model_fields = dict(label=p.label, confidence=round(p.confidence, 4),
                                probabilities={k: round(v, 4) for k, v in p.probabilities.items()},
                                model_version=p.model_version,
                                explanation={"top_features": p.explanation} if p.explanation else None)
        if is_repost:
            return Decision(team=None, action="repost", priority=0, watchers=[],
                            reason="repost of another mention: recorded, not queued", **model_fields)
        priority = self.base_priority(m)
        watchers: list[str] = []
        team: str | None = None
        fired: list[str] = []
        action = "route"
        for cr in self.rules:
            if not cr.matches(m, p):
                continue
            r = cr.rule
            fired.append(r.name)
            if r.priority is not None:
                priority = r.priority
            watchers.extend(w for w in r.watchers if w not in watchers)
            if r.action in ("spam", "ignore"):
                action = r.action
            if r.team is not None and team is None:
                team = r.team
            if r.stop and (r.team is not None or r.action != "route"):
                break
        if action == "ignore":
            return Decision(team=None, action="ignore", priority=priority, watchers=[],
                            reason=f"rule {fired[-1]!r} ignores it", rule=fired[-1], **model_fields)
        if team is not None:
            reason = f"rule {fired[0]!r}" if len(fired) == 1 else "rules " + ", ".join(repr(f) for f in fired)
            rule = ",".join(fired)
        elif p is None:
            team, rule = self.routing.triage_team, ",".join(fired) or None
            reason = "no model prediction: triage"
        elif p.confidence < self.routing.confidence_threshold:
            team, rule = self.routing.triage_team, ",".join(fired) or None
            reason = (f"model {p.model_version}: {p.label} at {p.confidence:.2f} is below the "
                      f"confidence threshold {self.routing.confidence_threshold:.2f}: triage")
        else:
            team, rule = self.routing.label_to_team[p.label], ",".join(fired) or None
            reason = f"model {p.model_version}: {p.label} ({p.confidence:.2f})"
            if fired:
                reason += f"; rules {', '.join(fired)} adjusted priority/watchers"
        if p is not None:
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
        return Decision(team=team, action=action, priority=priority, watchers=watchers, reason=reason,
                        rule=rule, **model_fields)
