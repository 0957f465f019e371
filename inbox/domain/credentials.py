"""Passwords (argon2id via argon2-cffi) and API tokens (random, stored as SHA-256 hashes)."""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from inbox.domain import password_policy

__all__ = ["hash_password", "verify_password", "needs_rehash", "new_token", "token_hash",
           "check_password_strength", "TOKEN_PREFIX"]

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
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
