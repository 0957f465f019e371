"""Exceptions of the inbox service.

InboxError
├── ConfigError        bad settings file or value (file, key, problem); CLI exits 2
├── DatabaseUnavailable the database cannot be reached
├── InputError         bad user input (unreadable import file, invalid argument)
└── DomainError        a request the domain refuses
    ├── NotFound       (404)
    ├── Forbidden      (403)
    ├── Conflict       (409) e.g. item already claimed, state transition not allowed
    └── Invalid        (422) a well-formed request with invalid values
"""
from __future__ import annotations

__all__ = [
    "InboxError", "ConfigError", "DatabaseUnavailable", "InputError",
    "DomainError", "NotFound", "Forbidden", "Conflict", "Invalid",
]


class InboxError(Exception):
    """Base of every error the service raises on purpose."""


class ConfigError(InboxError):
    """A settings file or value is wrong. ``str()`` is one line: ``file: key: problem``."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}")


class DatabaseUnavailable(InboxError):
    """The database could not be reached or opened."""


class InputError(InboxError, ValueError):
    """Input supplied by the user cannot be used (unreadable file, bad argument)."""


class DomainError(InboxError):
    """A request that the domain rules refuse; ``status`` is the HTTP status it maps to."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class NotFound(DomainError):
    status, title = 404, "Not found"


class Forbidden(DomainError):
    status, title = 403, "Forbidden"


class Conflict(DomainError):
    status, title = 409, "Conflict"


class Invalid(DomainError):
    status, title = 422, "Unprocessable content"
