"""What a notification for a person says, in the current locale (inbox.web.i18n): one sentence
per kind, naming the item and who did it. Names are user names (never mention text); templates
escape whatever they show."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inbox.web import i18n

__all__ = ["describe", "KIND_TITLES"]

N_ = i18n.N_
#: the kinds as the settings list them ("Tell me when ...")
KIND_TITLES = {"assigned": N_("an item is assigned to me"), "mentioned": N_("someone mentions me in a note"),
               "sla_due": N_("an item I hold falls due within 15 minutes"),
               "reply_failed": N_("a reply of mine could not be sent"),
               "approval": N_("a reply in my team waits for approval")}


def describe(row: Mapping[str, Any]) -> str:
    """One sentence about ``row`` (kind, item_id, actor, data)."""
    _ = i18n.gettext
    item, actor = int(row["item_id"]), row.get("actor") or ""
    kind, data = row["kind"], row.get("data") or {}
    if kind == "assigned":
        if actor == "system":
            return _("Item #%(item)s was assigned to you automatically") % {"item": item}
        return _("%(actor)s assigned item #%(item)s to you") % {"actor": actor, "item": item}
    if kind == "mentioned":
        return _("%(actor)s mentioned you in a note on item #%(item)s") % {"actor": actor, "item": item}
    if kind == "sla_due":
        what = _("first response") if data.get("sla") == "first_response" else _("resolution")
        return _("Item #%(item)s: %(sla)s due %(when)s") % {
            "item": item, "sla": what, "when": i18n.fmt_datetime(data.get("due"), "short")}
    if kind == "reply_failed":
        return _("Your reply on item #%(item)s could not be sent") % {"item": item}
    if kind == "approval":
        return _("%(actor)s's reply on item #%(item)s waits for your approval") % {"actor": actor, "item": item}
    return _("Item #%(item)s needs you") % {"item": item}
