"""Names of labels, teams, roles, statuses and assignment policies as a reader says them, in the
reader's language: "Customer care" / "Assistenza clienti" rather than ``customer_care``.

A team's ``display_name`` from the configuration wins when an admin chose one other than the
default English name; the default names (and labels, which share the teams' ids) are translated."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inbox.web import i18n

__all__ = ["label_name", "team_name", "role_name", "status_name", "assignment_name", "crisis_kind", "crisis_state",
           "crisis_subject", "helpers"]

N_ = i18n.N_

#: label and default team ids → their names (a label routes to the team of the same id)
LABELS = {"customer_care": N_("Customer care"), "marketing": N_("Marketing"), "hr": N_("HR"), "pr": N_("PR"),
          "triage": N_("Triage")}
ROLES = {"agent": N_("agent"), "lead": N_("team lead"), "manager": N_("manager"), "admin": N_("admin")}
STATUSES = {"new": N_("new"), "claimed": N_("claimed"), "replied": N_("replied"), "waiting": N_("waiting"),
            "resolved": N_("resolved"), "spam": N_("spam")}
ASSIGNMENT = {"manual": N_("agents claim"), "round_robin": N_("round robin"), "least_loaded": N_("least loaded")}


def _word(table: dict[str, str], key: str | None) -> str:
    if not key:
        return "—"
    found = table.get(key)
    return i18n.gettext(found) if found else key


def label_name(label: str | None) -> str:
    """``customer_care`` → "Customer care" / "Assistenza clienti"; unknown labels as stored."""
    return _word(LABELS, label)


def role_name(role: str | None) -> str:
    return _word(ROLES, role)


def status_name(status: str | None) -> str:
    return _word(STATUSES, status)


def assignment_name(policy: str | None) -> str:
    return _word(ASSIGNMENT, policy)


def team_name(team: Any, settings: Any = None) -> str:
    """A team (its settings object, or its id looked up in ``settings``) by name: the configured
    display name when an admin chose their own, else the translated default."""
    obj = team if not isinstance(team, str) else (settings.team(team) if settings is not None else None)
    key = team if isinstance(team, str) else getattr(team, "name", "")
    shown = getattr(obj, "display_name", None) if obj is not None else None
    default = LABELS.get(key)
    if default and (not shown or shown == default):
        return i18n.gettext(default)
    return str(shown or key or "—")


def helpers(current_settings: Callable[[], Any]) -> dict[str, Any]:
    """The template functions; ``team_title`` reads the configuration in force when it is called
    (``current_settings()``), so a team an admin renames is shown by its new name at once."""
    return {"label_name": label_name, "role_name": role_name, "status_name": status_name,
            "assignment_name": assignment_name, "crisis_kind": crisis_kind, "crisis_state": crisis_state,
            "crisis_subject": crisis_subject, "team_title": lambda t: team_name(t, current_settings())}


CRISIS_KINDS = {"cluster": N_("many similar posts"), "label": N_("surge of one label"),
                "safety": N_("product safety")}
CRISIS_STATES = {"open": N_("open"), "closed": N_("closed")}


def crisis_kind(kind: str | None) -> str:
    return _word(CRISIS_KINDS, kind)


def crisis_state(state: str | None) -> str:
    return _word(CRISIS_STATES, state)


def crisis_subject(kind: str | None, subject: str | None) -> str:
    """What a crisis is about, as a reader says it: a label's name ("label:customer_care" →
    "Customer care"), a product's ("safety:kettle" → "kettle"); a cluster's stored subject is a
    hash of its texts, so it is named by its kind ("Many similar posts")."""
    _prefix, _, rest = (subject or "").partition(":")
    if kind == "label" and rest:
        return label_name(rest)
    if kind == "safety" and rest:
        return rest
    word = crisis_kind(kind)
    return word[:1].upper() + word[1:]
