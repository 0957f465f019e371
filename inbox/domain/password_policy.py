"""What a password must be: at least 12 characters, not a common or easily guessed one, and not
built on the user's own name.

"Common or easily guessed" is zxcvbn's judgement (the maintained Python port of Dropbox's
estimator): it matches the password against its frequency lists (30,000 leaked passwords, English
words, names) with l33t substitutions, repeats, sequences, keyboard patterns and dates, and
estimates the guesses an attacker needs; a password scoring below :data:`MIN_SCORE` (fewer than
about 10^8 guesses) is refused with zxcvbn's own warning as the reason. The user's name (and any
other words passed as ``context``) are added to its dictionaries, so ``carla2024carla!`` is weak
for carla."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # zxcvbn ships no type information

from inbox.errors import InputError

__all__ = ["MIN_LENGTH", "MAX_LENGTH", "MIN_SCORE", "PasswordRejected", "problems", "check"]

MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_SCORE = 3           # zxcvbn: 3 = "safely unguessable: moderate protection from offline slow-hash scenario"
_ESTIMATE_CHARS = 72    # zxcvbn's own limit; past it the estimate is of the first 72 characters


class PasswordRejected(InputError):
    """The password breaks the policy; ``str()`` says why, in a sentence for the person choosing it."""


@dataclass(frozen=True)
class Problem:
    rule: str       # length | common | name
    message: str


def problems(password: str, *, user_name: str | None = None, context: Iterable[str] = ()) -> list[Problem]:
    """Every rule ``password`` breaks (empty when it is acceptable)."""
    out: list[Problem] = []
    if len(password) < MIN_LENGTH:
        out.append(Problem("length", f"password must be at least {MIN_LENGTH} characters"))
    if len(password) > MAX_LENGTH:
        out.append(Problem("length", f"password must be at most {MAX_LENGTH} characters"))
    name = (user_name or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        out.append(Problem("name", "password must not contain the user name"))
    if MIN_LENGTH <= len(password) <= MAX_LENGTH:
        words = [w for w in [name, *context] if w]
        result = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=words)
        if int(result["score"]) < MIN_SCORE:
            warning = str(result["feedback"].get("warning") or "").rstrip(".")
            out.append(Problem("common", "password is too common or too easy to guess"
                                         + (f" ({warning.lower()})" if warning else "")))
    return out


def check(password: str, *, user_name: str | None = None, context: Iterable[str] = ()) -> None:
    """Raise :class:`PasswordRejected` naming every broken rule."""
    found = problems(password, user_name=user_name, context=context)
    if found:
        raise PasswordRejected("; ".join(p.message for p in found))
