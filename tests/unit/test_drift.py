"""The drift alarm's rule: accuracy from corrections more than 5 points below the model's evaluation,
on enough judged items; the evaluation read from the model's metadata."""
from __future__ import annotations

from inbox.domain.drift import drift_alarm, reference_accuracy

META = {"evaluation": {"dev": {"accuracy": 0.94}, "dev_crosssource": {"accuracy": 0.85},
                       "source_folds": {"accuracy": 0.8}}}


def test_reference_prefers_the_cross_source_evaluation() -> None:
    assert reference_accuracy(META) == ("dev_crosssource", 0.85)
    assert reference_accuracy({"evaluation": {"source_folds": {"accuracy": 0.8}}}) == ("source_folds", 0.8)
    assert reference_accuracy({"evaluation": {"mine": {"accuracy": 0.7}, "bad": "x"}}) == ("mine", 0.7)
    assert reference_accuracy({"evaluation": {}}) is None and reference_accuracy(None) is None


def test_alarm_below_five_points_under_the_evaluation() -> None:
    ref = ("dev_crosssource", 0.85)
    low = drift_alarm(100, 21, ref)  # 0.79 < 0.80
    assert low["alarm"] and (low["accuracy"], low["threshold"], low["evaluation"]) == (0.79, 0.8, "dev_crosssource")
    assert not drift_alarm(100, 20, ref)["alarm"]  # 0.80: exactly five points below is not yet an alarm
    assert not drift_alarm(100, 5, ref)["alarm"]


def test_no_alarm_without_enough_judged_items_or_an_evaluation() -> None:
    assert not drift_alarm(49, 40, ("dev", 0.9))["alarm"]
    assert drift_alarm(50, 40, ("dev", 0.9))["alarm"]
    nothing = drift_alarm(0, 0, ("dev", 0.9))
    assert nothing["accuracy"] is None and not nothing["alarm"]
    assert not drift_alarm(100, 90, None)["alarm"]
