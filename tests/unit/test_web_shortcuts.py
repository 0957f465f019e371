"""Shortcut preferences (inbox.web.shortcuts): a key the user chose stays theirs even when a newer
action's default is the same key; stored preferences round-trip; a form's clashing keys are refused."""
from __future__ import annotations

from inbox.web import shortcuts


def test_a_key_the_user_chose_is_not_also_a_newer_actions_default() -> None:
    # stored before "select" existed: resolve moved to x, select's default
    prefs = shortcuts.parse('{"keys": {"resolve": "x"}}')
    assert prefs.keys["resolve"] == "x" and prefs.keys["select"] == ""
    keys = [k for k in prefs.keys.values() if k]
    assert len(keys) == len(set(keys))
    assert prefs.hint("select") == "" and "x" in prefs.hint("resolve")


def test_defaults_and_round_trip() -> None:
    prefs = shortcuts.parse(None)
    assert {a: k for a, k in prefs.keys.items()} == {a: d for a, (d, _) in shortcuts.ACTIONS.items()}
    assert shortcuts.dump(prefs) is None
    moved = shortcuts.parse(shortcuts.dump(shortcuts.Prefs(keys={"claim": "z"})))
    assert moved.keys["claim"] == "z" and not moved.off


def test_the_form_refuses_two_actions_on_one_key() -> None:
    prefs, errors = shortcuts.validate(False, {"resolve": "x"})  # select keeps its default x
    assert set(errors) == {"select"}
    prefs, errors = shortcuts.validate(False, {"resolve": "x", "select": "v"})
    assert errors == {} and prefs.keys["select"] == "v"
