"""Notifications for people (pure): who is told what about an item, under which preferences.

Kinds: ``assigned`` (an item was handed to you), ``mentioned`` (``@name`` in a note), ``sla_due``
(an item you hold is due within :data:`DUE_SOON`), ``reply_failed`` (a reply you wrote could not be
sent), ``approval`` (a reply in your team waits for a lead's approval). A person is told only about
items they may see (the rule of the item queries: members of the owning team, admins, members of a
watching team unless the owning team is private) and only of the kinds they keep switched on.
Storage (inbox.storage.repo.people_notify) writes the drafts in the producer's transaction."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ["KINDS", "DUE_SOON", "Prefs", "Recipient", "Draft", "parse_prefs", "may_see", "mentioned_names",
           "assigned", "mentioned", "reply_failed", "approval_needed", "due_soon", "deliverable"]

KINDS = ("assigned", "mentioned", "sla_due", "reply_failed", "approval")
DUE_SOON = timedelta(minutes=15)
_NAME = re.compile(r"(?<![\w@.])@([A-Za-z0-9][A-Za-z0-9_.-]{0,63})")
_SNIPPET = 160


@dataclass(frozen=True, slots=True)
class Prefs:
    """A person's choices: the kinds they are told about, and whether the browser may pop them up."""

    kinds: frozenset[str] = frozenset(KINDS)
    browser: bool = False

    def to_json(self) -> str:
        return json.dumps({"kinds": [k for k in KINDS if k in self.kinds], "browser": self.browser})

    def as_dict(self) -> dict[str, Any]:
        return {"kinds": [k for k in KINDS if k in self.kinds], "browser": self.browser}

    @classmethod
    def from_json(cls, text: str | None) -> Prefs:
        """The stored preferences; defaults (every kind, no browser pop-ups) when unset or unreadable."""
        if not text:
            return cls()
        try:
            return parse_prefs(json.loads(text))
        except (ValueError, TypeError):
            return cls()


def parse_prefs(body: Any) -> Prefs:
    """Validate ``{"kinds": [...], "browser": bool}`` (both optional); ValueError names the problem."""
    if not isinstance(body, Mapping):
        raise ValueError("settings must be an object with 'kinds' and 'browser'")
    unknown = set(body) - {"kinds", "browser"}
    if unknown:
        raise ValueError(f"unknown setting {sorted(unknown)[0]!r}")
    kinds = body.get("kinds", list(KINDS))
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise ValueError("'kinds' must be a list of kinds")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown kind {bad[0]!r}; kinds are {', '.join(KINDS)}")
    browser = body.get("browser", False)
    if not isinstance(browser, bool):
        raise ValueError("'browser' must be true or false")
    return Prefs(frozenset(kinds), browser)


@dataclass(frozen=True, slots=True)
class Recipient:
    id: int
    name: str
    role: str
    teams: tuple[str, ...]
    prefs: Prefs = field(default_factory=Prefs)


@dataclass(frozen=True, slots=True)
class Draft:
    """One notification to write: ``key`` is unique per person (the same event is told once)."""

    user_id: int
    kind: str
    item_id: int
    key: str
    actor: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def may_see(r: Recipient, team: str, watchers: Sequence[str] | None, private: Iterable[str]) -> bool:
    if r.role == "admin" or team in r.teams:
        return True
    if team in set(private):
        return False
    return bool(set(r.teams) & set(watchers or ()))


def mentioned_names(text: str) -> list[str]:
    """``@name`` handles in a note, lower-cased, each once, in order (an e-mail address is not one)."""
    out: list[str] = []
    for m in _NAME.finditer(text or ""):
        name = m.group(1).rstrip(".-").lower()
        if name and name not in out:
            out.append(name)
    return out


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def assigned(item_id: int, to: Recipient, actor: str, at: datetime) -> list[Draft]:
    """The assignee is told, unless they took the item themself."""
    if to.name == actor:
        return []
    return [Draft(to.id, "assigned", item_id, f"assigned:{item_id}:{_stamp(at)}", actor)]


def mentioned(item_id: int, people: Sequence[Recipient], actor: str, text: str, at: datetime) -> list[Draft]:
    """Everyone named with ``@`` in a note, except its writer."""
    snippet = " ".join(text.split())[:_SNIPPET]
    return [Draft(p.id, "mentioned", item_id, f"mentioned:{item_id}:{_stamp(at)}", actor, {"note": snippet})
            for p in people if p.name != actor]


def reply_failed(item_id: int, reply_id: int, author: Recipient, error: str | None, at: datetime) -> list[Draft]:
    return [Draft(author.id, "reply_failed", item_id, f"reply_failed:{reply_id}:{_stamp(at)}", None,
                  {"reply_id": reply_id, "error": (error or "")[:200]})]


def approval_needed(item_id: int, reply_id: int, leads: Sequence[Recipient], author: str) -> list[Draft]:
    """The team's leads (not the author) are asked to approve a reply."""
    return [Draft(p.id, "approval", item_id, f"approval:{reply_id}", author, {"reply_id": reply_id})
            for p in leads if p.name != author]


def due_soon(rows: Iterable[Mapping[str, Any]], now: datetime, window: timedelta = DUE_SOON) -> list[Draft]:
    """Held items (``id``, ``assignee_id``, ``sla``, ``due``) due in ``(now, now + window]``: one
    draft per item, SLA and due time (a due time moved by a pause is told again)."""
    out = []
    for r in rows:
        due = r["due"]
        if r.get("assignee_id") is None or due is None or not now < due <= now + window:
            continue
        out.append(Draft(int(r["assignee_id"]), "sla_due", int(r["id"]), f"sla_due:{r['sla']}:{r['id']}:{_stamp(due)}",
                         None, {"sla": r["sla"], "due": due.isoformat()}))
    return out


def deliverable(drafts: Iterable[Draft], people: Mapping[int, Recipient], team: str,
                watchers: Sequence[str] | None, private: Iterable[str]) -> list[Draft]:
    """The drafts whose person exists, may see the item and keeps that kind switched on."""
    private = set(private)
    out = []
    for d in drafts:
        p = people.get(d.user_id)
        if p is not None and d.kind in p.prefs.kinds and may_see(p, team, watchers, private):
            out.append(d)
    return out
