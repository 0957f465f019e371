"""Single-key keyboard shortcuts: the actions, their default keys, and each user's choice to turn
them off or give an action another key (WCAG 2.1.4). The choice is stored with the user
(``user_account.shortcuts``, JSON: ``{"off": true}`` and/or ``{"keys": {action: key}}``); the page
tells the script which key does what (``body[data-keymap]``) and shows the user's keys in the hints."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from inbox.web import i18n

__all__ = ["ACTIONS", "Prefs", "parse", "dump", "validate"]

N_ = i18n.N_

#: action → (default key, what it does); in the order the help lists them
ACTIONS: dict[str, tuple[str, str]] = {
    "claim": ("c", N_("Claim the next item")),
    "next": ("j", N_("Next item in the list")),
    "previous": ("k", N_("Previous item in the list")),
    "open": ("o", N_("Open the selected item")),
    "replied": ("r", N_("Mark as replied")),
    "waiting": ("w", N_("Waiting for the customer")),
    "resolve": ("e", N_("Resolve")),
    "spam": ("!", N_("Spam")),
    "note": ("n", N_("Write a note")),
    "transfer": ("t", N_("Transfer to another team")),
    "release": ("u", N_("Release back to the queue")),
    "queues": ("g", N_("Go to the queues")),
    "search": ("/", N_("Search")),
    "select": ("x", N_("Select the item for a bulk action")),
    # "help the model": answer for the first item of the list
    "confirm": ("y", N_("Help the model: confirm its label")),
    "label1": ("1", N_("Help the model: it is the first label")),
    "label2": ("2", N_("Help the model: it is the second label")),
    "label3": ("3", N_("Help the model: it is the third label")),
    "label4": ("4", N_("Help the model: it is the fourth label")),
    "help": ("?", N_("Show this help")),
}


class Prefs:
    """One user's shortcuts: on or off, and the key of each action."""

    def __init__(self, off: bool = False, keys: dict[str, str] | None = None) -> None:
        self._keymap: str | None = None
        self.off = off
        chosen = {a: k for a, k in (keys or {}).items() if k}
        taken = set(chosen.values())
        # a key the user gave an action is theirs: an action added later whose default is that key
        # gets none ("") until the user picks one, rather than two actions on one key
        self.keys = {a: chosen.get(a) or ("" if default in taken else default)
                     for a, (default, _) in ACTIONS.items()}

    def hint(self, action: str) -> Markup:
        """The key hint shown in a button ("" when the shortcuts are off)."""
        if self.off or not self.keys.get(action):
            return Markup("")
        return Markup('<kbd data-hint aria-hidden="true">%s</kbd>') % escape(self.keys[action])

    def keymap_json(self) -> str:
        if self._keymap is None:  # on every page: written once per object (parse keeps one per setting)
            self._keymap = json.dumps({"off": self.off, "keys": self.keys}, separators=(",", ":"))
        return self._keymap

    def rows(self) -> list[tuple[str, str, str]]:
        """(action, key, description in the reader's language) in the help's order."""
        return [(a, self.keys[a], i18n.gettext(d)) for a, (_k, d) in ACTIONS.items()]


@lru_cache(maxsize=1024)  # every page parses its user's: one object per stored value, never changed
def parse(stored: str | None) -> Prefs:
    """The stored JSON as preferences; anything unreadable is the defaults."""
    try:
        data: Any = json.loads(stored) if stored else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    return Prefs(off=bool(data.get("off")), keys={a: k for a, k in keys.items()
                                                  if a in ACTIONS and isinstance(k, str) and len(k) == 1})


def dump(prefs: Prefs) -> str | None:
    """What to store: None for the defaults."""
    changed = {a: k for a, k in prefs.keys.items() if k != ACTIONS[a][0]}
    if not prefs.off and not changed:
        return None
    return json.dumps({"off": prefs.off, "keys": changed}, separators=(",", ":"))


def validate(off: bool, wanted: dict[str, str]) -> tuple[Prefs, dict[str, str]]:
    """Preferences from a form and the problems per action (in the reader's language): a key is
    one visible character, not a space, and two actions never share one."""
    _ = i18n.gettext
    errors: dict[str, str] = {}
    keys: dict[str, str] = {}
    for action in ACTIONS:
        key = (wanted.get(action) or "").strip()
        if not key:
            key = ACTIONS[action][0]
        if len(key) != 1 or not key.isprintable() or key.isspace():
            errors[action] = _("A shortcut is one character.")
            continue
        keys[action] = key.lower() if key.isalpha() else key
    seen: dict[str, str] = {}
    for action, key in keys.items():
        if key in seen:
            errors[action] = _("%(key)s is already the key of another action.") % {"key": key}
        else:
            seen[key] = action
    return Prefs(off=off, keys=keys), errors
