"""The routing table as data: rules first (EN and IT), then the model's label, triage below the
threshold, watchers above the secondary threshold, never watchers on private teams."""
from __future__ import annotations

from pathlib import Path

import pytest

from inbox.domain.router import MentionFacts, Router, urgency_score
from inbox.domain.types import Prediction
from inbox.settings import RuleSettings, load_settings

ROOT = Path(__file__).resolve().parents[2]
S = load_settings(ROOT / "config" / "inbox.toml")

RULES = [
    RuleSettings(name="spam-links", regex=r"free\s+crypto|bit\.ly/win", action="spam"),
    RuleSettings(name="press", keywords=["journalist", "giornalista", "press inquiry", "richiesta stampa"],
                 team="pr", priority=2),
    RuleSettings(name="vip", min_reach=100_000, priority=3, watchers=["pr"], stop=False),
    RuleSettings(name="it-careers", lang=["it"], keywords=["candidatura", "colloquio"], team="hr"),
    RuleSettings(name="partner-feed", source=["partners"], team="marketing"),
    RuleSettings(name="ignore-own", author=["@acme_official"], action="ignore"),
    RuleSettings(name="sure-care", label=["customer_care"], min_confidence=0.95, priority=2, stop=False),
]
R = Router(S.routing, RULES, S.private_teams)


def P(label: str, conf: float, **others: float) -> Prediction:
    rest = {k: v for k, v in others.items()}
    probs = {lab: rest.get(lab, 0.0) for lab in ("marketing", "customer_care", "hr", "pr")}
    probs[label] = conf
    return Prediction(label, conf, probs, model_version="m-test")


def F(text: str, *, source: str = "x", lang: str | None = "en", author: str | None = "@someone",
      reach: int | None = 10) -> MentionFacts:
    return MentionFacts(text=text, source=source, platform="test", author=author, lang=lang, reach=reach)


CASES = [
    # (name, facts, prediction, team, action, priority, watchers, rule, reason fragment)
    ("model label to team", F("my order never arrived"), P("customer_care", 0.9), "customer_care", "route", 1, [], None,
     "model m-test: customer_care (0.90)"),
    ("low confidence to triage", F("hmm acme"), P("marketing", 0.41, pr=0.3), "triage", "route", 1, ["marketing", "pr"],
     None, "below the confidence threshold"),
    ("watchers from second label", F("ceo statement on refunds"), P("pr", 0.6, customer_care=0.3), "pr", "route", 1,
     ["customer_care"], None, "model m-test: pr"),
    ("press rule EN", F("I am a journalist at the Times, comment?"), P("marketing", 0.8), "pr", "route", 2, [],
     "press", "rule 'press'"),
    ("press rule IT", F("Sono una giornalista del Corriere, posso avere un commento?", lang="it"),
     P("customer_care", 0.7), "pr", "route", 2, [], "press", "rule 'press'"),
    ("italian careers rule", F("Ho inviato la candidatura, quando il colloquio?", lang="it"), P("customer_care", 0.8),
     "hr", "route", 1, [], "it-careers", "rule 'it-careers'"),
    ("careers rule needs italian", F("candidatura sent", lang="en"), P("customer_care", 0.8), "customer_care",
     "route", 1, [], None, "model"),
    ("spam rule", F("FREE crypto for all at bit.ly/win"), P("marketing", 0.9), "marketing", "spam", 1, [],
     "spam-links", "spam"),
    ("ignore own posts", F("our new espresso machine", author="@Acme_Official"), P("marketing", 0.9), None,
     "ignore", 1, [], "ignore-own", "ignores"),
    ("source rule", F("collab proposal", source="partners"), P("pr", 0.9), "marketing", "route", 1, [],
     "partner-feed", "rule 'partner-feed'"),
    ("reach raises priority and adds watcher", F("love the new model", reach=250_000), P("marketing", 0.9),
     "marketing", "route", 3, ["pr"], "vip", "model m-test: marketing"),
    ("private team never shared", F("interview next week?", reach=250_000), P("hr", 0.7, customer_care=0.3), "hr",
     "route", 3, [], "vip", "model m-test: hr"),
    ("label+confidence rule", F("refund please"), P("customer_care", 0.97), "customer_care", "route", 2, [],
     "sure-care", "model"),
    ("no prediction goes to triage", F("???"), None, "triage", "route", 1, [], None, "no model prediction"),
]


@pytest.mark.parametrize(("name", "facts", "pred", "team", "action", "priority", "watchers", "rule", "reason"),
                         CASES, ids=[c[0] for c in CASES])
def test_routing_table(name: str, facts: MentionFacts, pred: Prediction | None, team: str | None, action: str,
                       priority: int, watchers: list[str], rule: str | None, reason: str) -> None:
    """Each row of the routing table gives the expected team, action, priority, watchers and explanation."""
    d = R.decide(facts, pred)
    assert (d.team, d.action, d.priority, sorted(d.watchers), d.rule) == (
        team,
        action,
        priority,
        sorted(watchers),
        rule,
    )
    assert reason in d.reason
    if pred is not None:
        assert d.model_version == "m-test" and d.probabilities is not None


def test_reposts_are_recorded_not_queued() -> None:
    """A repost gets a decision with no team."""
    d = R.decide(F("RT great coffee"), P("marketing", 0.9), is_repost=True)
    assert d.team is None and d.action == "repost"


@pytest.mark.parametrize(("text", "score"), [
    ("ok thanks", 0), ("URGENT my account was hacked", 1), ("È UNA VERGOGNA, RIDATEMI I SOLDI!!!", 2),
    ("servizio pessimo, è una truffa", 1),
    ("MY ORDER NEVER ARRIVED AND NOBODY ANSWERS", 1),  # shouting, ASCII
    ("NESSUNO RISPONDE, PERCHÉ È COSÌ DIFFICILE", 1),  # shouting, accented
    ("MY ORDER never arrived and nobody answers", 0),  # under 70% capitals
    ("OK THX", 0),  # too few letters to shout
    ("un prodotto pericolosissimo", 1), ("a dangerous crack", 1),  # prefix / whole-word cue
    ("our anti-injury campaign", 0),  # the token is "anti-injury": the cue prefix "injur" is not its start
])
def test_urgency_cues_en_it(text: str, score: int) -> None:
    """Urgency and strong negative cues raise the score in English and Italian."""
    assert urgency_score(text) == score


def test_cue_lookup_by_word_runs_equals_the_token_lookup() -> None:
    """The runs of word characters rule texts out before their tokens are found; the answer is
    the same as from the tokens."""
    from inbox.domain import router as r

    texts = ["what a rip-off", "rip off", "RIP-OFF!!!", "e-mail boycotting now", "urgent-ly", "pericolosamente",
             "never again", "class action", "disappointed, terrible_service", "fine thanks", "x-urgent-y",
             "Il prodotto è pericoloso", "ustionato dal bollitore", ""]
    for text in texts:
        folded = r.fold(text)
        for cues in (r._URGENT, r._NEGATIVE):
            assert cues.first(folded, runs=r._word_runs(folded)) == cues.first(folded, r._TOKEN.findall(folded))
