"""Product safety, health and legal risk: the shipped config's "product-safety" rule sends such
mentions (English and Italian, written for this test and in no corpus or seed file) to customer
care with PR watching and priority 3 when the model reads them as a customer's case or opinion,
leaves press stories to PR and look-alikes alone; the mentions naming one product are grouped for
the crisis check."""
from __future__ import annotations

from pathlib import Path

import pytest

from inbox.domain.router import MentionFacts, Router, text_rule, urgency_score
from inbox.domain.safety import product_groups
from inbox.domain.types import Prediction
from inbox.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
S = load_settings(ROOT / "config" / "inbox.toml")
R = Router(S.routing, S.rules, S.private_teams)

SAFETY = [
    ("My new Acme kettle exploded on the counter this morning", "en"),
    ("the acme heater caught fire overnight, we were lucky", "en"),
    ("Charger overheated and left burn marks, it burned my hand", "en"),
    ("My son had an allergic reaction to your cereal bar, no warning on the label", "en"),
    ("Is the Acme blender recalled? I heard about a safety recall", "en"),
    ("Food poisoning after eating your ready meal, whole family sick", "en"),
    ("This scooter is dangerous, the brake failed and my daughter was injured", "en"),
    ("Il forno Acme ha preso fuoco mentre cucinavo", "it"),
    ("La batteria è esplosa in tasca, prodotto pericoloso", "it"),
    ("Intossicazione alimentare dopo il vostro tonno, siamo finiti al pronto soccorso", "it"),
    ("Avete emesso un richiamo del prodotto? Il lotto 42 è nei negozi", "it"),
    ("Reazione allergica dopo la crema, nessuna avvertenza in etichetta", "it"),
    ("Il caricatore si è surriscaldato e mi ha dato la scossa elettrica", "it"),
]
NOT_SAFETY = [
    "I don't recall ordering this, please cancel",
    "This new album is fire, well done Acme",
    "You're fired! Great finale of the show sponsored by Acme",
    "Il richiamo del vaccino è andato bene, grazie",
    "Prezzi da fuoco, saldi incredibili da Acme",
    "The marketing team burned the midnight oil on this launch",
]


@pytest.mark.parametrize(("text", "lang"), SAFETY)
@pytest.mark.parametrize("label", ["marketing", "customer_care"])
def test_safety_mentions_go_to_customer_care_with_pr_watching(text: str, lang: str, label: str) -> None:
    p = Prediction(label, 0.8, {"marketing": 0.1, "customer_care": 0.05, "hr": 0.0, "pr": 0.05} | {label: 0.8},
                   model_version="m-test")
    d = R.decide(MentionFacts(text=text, source="x", platform="t", author="@a", lang=lang, reach=10), p)
    assert (d.team, d.rule, d.priority) == ("customer_care", "product-safety", 3), d.reason
    assert "pr" in d.watchers


@pytest.mark.parametrize(("text", "_"), SAFETY[:3])
def test_press_stories_stay_with_pr(text: str, _: str) -> None:
    """A safety story the model reads as press coverage stays in PR's queue."""
    p = Prediction("pr", 0.8, {"marketing": 0.1, "customer_care": 0.1, "hr": 0.0, "pr": 0.8}, model_version="m-test")
    d = R.decide(MentionFacts(text=text, source="x", platform="t", author="@a", lang="en", reach=10), p)
    assert d.team == "pr" and d.rule is None


@pytest.mark.parametrize("text", NOT_SAFETY)
def test_look_alikes_are_left_to_the_model(text: str) -> None:
    p = Prediction("marketing", 0.9, {"marketing": 0.9, "customer_care": 0.1, "hr": 0.0, "pr": 0.0},
                   model_version="m-test")
    d = R.decide(MentionFacts(text=text, source="x", platform="t", author="@a", lang="en", reach=10), p)
    assert d.rule is None and d.team == "marketing", d.reason


def test_text_rule_matches_the_text_alone() -> None:
    [rule] = [r for r in S.rules if r.name == "product-safety"]
    matches = text_rule(rule)
    assert [matches(t) for t, _ in SAFETY] == [True] * len(SAFETY)
    assert [matches(t) for t in NOT_SAFETY] == [False] * len(NOT_SAFETY)


def test_product_groups_name_the_shared_product() -> None:
    """The brand and the cue words are no product; a text joins one group; small groups don't count."""
    texts = [
        "My Acme kettle exploded this morning",
        "acme KETTLE caught fire!!",
        "Il kettle Acme è esploso in cucina",
        "the Acme toaster exploded",
        "toaster caught fire",
        "Acme kettle is dangerous, it exploded",
    ]
    [rule] = [r for r in S.rules if r.name == "product-safety"]
    ignore = ["Acme", *(rule.keywords or [])]
    assert product_groups(texts, min_count=3, ignore=ignore) == [("kettle", [0, 1, 2, 5])]
    assert product_groups(texts, min_count=2, ignore=ignore) == [("kettle", [0, 1, 2, 5]), ("toaster", [3, 4])]
    assert product_groups(texts[:2], min_count=3, ignore=ignore) == []


@pytest.mark.parametrize(("text", "_"), SAFETY)
def test_safety_words_raise_urgency(text: str, _: str) -> None:
    """Whichever team gets it (a press story stays with PR), a safety mention is urgent."""
    assert urgency_score(text) >= 1, text
