"""The admin's user form: read and check every field at once, so a refused form comes back with
each problem next to its field (in the reader's language) and everything typed kept, except the
password. Creating and editing are distinct: the form says which it is (``mode``), and "New user"
with a name that exists is refused (409) instead of overwriting that user."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbox.domain import password_policy
from inbox.domain.types import ROLES, UserInfo
from inbox.web import i18n

__all__ = ["UserForm", "read_user_form", "values_of"]

_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


@dataclass
class UserForm:
    mode: str                                   # create | edit
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 422                           # of a refused form: 409 for a name that exists


def values_of(user: UserInfo | None) -> dict[str, Any]:
    """The form's fields for ``user`` (None: a new user's defaults)."""
    if user is None:
        return {"name": "", "display_name": "", "role": "agent", "teams": [], "locale": "", "capacity": "10"}
    return {"name": user.name, "display_name": user.display_name, "role": user.role, "teams": list(user.teams),
            "locale": user.locale or "", "capacity": str(user.capacity)}


def read_user_form(data: dict[str, str], teams: list[str], known_teams: set[str],
                   existing: UserInfo | None) -> UserForm:
    """The checked form; ``existing`` is the stored user of that name, if any."""
    _ = i18n.gettext
    mode = "edit" if data.get("mode") == "edit" else "create"
    name = data.get("name", "").strip().lower()
    values = {"name": name, "display_name": data.get("display_name", "").strip()[:128],
              "role": data.get("role", ""), "teams": teams, "locale": data.get("locale") or "",
              "capacity": data.get("capacity", "").strip() or "10"}
    f = UserForm(mode=mode, values=values)
    if not name or len(name) > 64 or not set(name) <= _NAME_OK:
        f.errors["name"] = _("A user name is 1 to 64 lower-case letters, digits, '.', '_' or '-'.")
    elif mode == "create" and existing is not None:
        f.errors["name"] = _("A user named %(name)s already exists.") % {"name": name}
        f.status = 409
    elif mode == "edit" and existing is None:
        f.errors["name"] = _("No such user.")
        f.status = 404
    if values["role"] not in ROLES:
        f.errors["role"] = _("The role must be one of %(roles)s.") % {"roles": ", ".join(ROLES)}
    if [t for t in teams if t not in known_teams]:
        f.errors["teams"] = _("Unknown team.")
    if values["locale"] and values["locale"] not in i18n.LOCALES:
        f.errors["locale"] = _("Unknown language.")
    cap = str(values["capacity"])
    if not cap.isascii() or not cap.isdigit():
        f.errors["capacity"] = _("The capacity must be a number.")
    elif not 1 <= int(cap) <= 1000:
        f.errors["capacity"] = _("The capacity must be between 1 and 1000.")
    password = data.get("password", "")
    if mode == "create" and not password:
        f.errors["password"] = _("A new user needs a password.")
    elif password:
        found = password_policy.problems(password, user_name=name)
        words = {"length": _("A password has %(min)s to %(max)s characters.") % {
                     "min": password_policy.MIN_LENGTH, "max": password_policy.MAX_LENGTH},
                 "name": _("The password must not contain the user name."),
                 "common": _("This password is too common or too easy to guess.")}
        if found:
            f.errors["password"] = " ".join(dict.fromkeys(words.get(p.rule, p.message) for p in found))
    return f
