"""Passwords (argon2id via argon2-cffi) and API tokens (random, stored as SHA-256 hashes)."""
from __future__ import annotations

import hashlib
import os
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from inbox.domain import password_policy

__all__ = ["hash_password", "verify_password", "needs_rehash", "new_token", "token_hash",
           "check_password_strength", "hasher_for", "TOKEN_PREFIX", "TEST_HASHING_ENV"]

#: the environment variable that a test suite sets to ``cheapest`` (argon2's own CHEAPEST profile, a
#: fraction of a millisecond per hash instead of about a tenth of a second): such hashes protect
#: nothing, so nothing but tests may set it; a hash made so is flagged by ``needs_rehash`` under the
#: normal parameters and replaced at the user's next sign-in
TEST_HASHING_ENV = "INBOX_TEST_PASSWORD_HASHING"


def hasher_for(setting: str | None) -> PasswordHasher:
    """argon2id with the library's recommended parameters, or its cheapest for ``"cheapest"``."""
    if setting == "cheapest":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher()


_HASHER = hasher_for(os.environ.get(TEST_HASHING_ENV))
TOKEN_PREFIX = "si_"
MIN_PASSWORD = password_policy.MIN_LENGTH
# a fixed hash to verify against when the user does not exist, so timing does not reveal it
_DUMMY = _HASHER.hash("not-a-real-password-" + secrets.token_hex(8))


def check_password_strength(pw: str, *, user_name: str | None = None) -> None:
    """Raise :class:`inbox.domain.password_policy.PasswordRejected` (an InputError) when ``pw``
    breaks the password policy (see that module)."""
    password_policy.check(pw, user_name=user_name)


def hash_password(pw: str) -> str:
    return _HASHER.hash(pw)


def verify_password(stored: str | None, pw: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, pw) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
