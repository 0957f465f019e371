"""The password policy: at least 12 characters, not common or easily guessed (zxcvbn), not the
user's name; the CLI only warns about the name (the operator sets an initial password)."""
from __future__ import annotations

import pytest

from inbox.domain import credentials, password_policy
from inbox.domain.password_policy import PasswordRejected


@pytest.mark.parametrize(("password", "rule"), [
    ("aaaaaaaaaa", "length"),            # accepted before: ten characters were enough
    ("aaaaaaaaaaaa", "common"),
    ("password1234", "common"),
    ("Password1234!", "common"),
    ("qwertyuiop12", "common"),
    ("iloveyou2024", "common"),
    ("123456789012", "common"),
    ("carla-secret-2024-x", "name"),
    ("x" * 1025, "length"),
])
def test_weak_passwords_are_refused_with_the_rule_they_break(password: str, rule: str) -> None:
    """Short, common, guessable or name-based passwords are refused, each naming its rule."""
    found = password_policy.problems(password, user_name="carla")
    assert rule in {p.rule for p in found}, found
    with pytest.raises(PasswordRejected):
        credentials.check_password_strength(password, user_name="carla")


@pytest.mark.parametrize("password", ["correct-horse-battery", "lantern-quartz-9081", "Tr0ub4dor&3-staple",
                                      "ùna-frase-lùnga-e-strana"])
def test_strong_passwords_pass(password: str) -> None:
    """Long, uncommon passwords without the user's name pass."""
    assert password_policy.problems(password, user_name="carla") == []
    credentials.check_password_strength(password, user_name="carla")


def test_the_user_name_is_found_in_any_case() -> None:
    """The name is matched case-insensitively; names under three characters are not checked."""
    assert {p.rule for p in password_policy.problems("CARLA-lantern-quartz", user_name="carla")} == {"name"}
    assert password_policy.problems("lantern-quartz-al9", user_name="al") == []
