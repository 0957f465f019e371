"""The item page's words for a routing decision and for history events, in the reader's language.

The decision's stored ``reason`` is an English sentence kept for the CLI, the API and the export;
the page builds its own sentence from the decision's fields instead, so an Italian agent reads
Italian. A decision that lacks the fields (an older row, a fallback) shows the stored reason."""
from __future__ import annotations

from typing import Any

from inbox.domain.router import shown_below
from inbox.web import i18n
from inbox.web.names import label_name, team_name

__all__ = ["routing_summary", "event_label", "EVENT_LABELS"]

N_ = i18n.N_

#: history event kinds → their label (translated when shown); unknown kinds show as stored
EVENT_LABELS = {
    "routed": N_("routed"), "claimed": N_("claimed"), "released": N_("released"),
    "status": N_("status changed"), "note": N_("note"), "transfer": N_("transfer"),
    "assigned": N_("assigned"), "reassigned": N_("reassigned"), "lease_expired": N_("claim expired"),
    "rerouted": N_("re-routed by the second look"), "edited": N_("edited by its author"),
    "sla_breach": N_("SLA breached"), "crisis_opened": N_("crisis opened"), "crisis_linked": N_("linked to a crisis"),
    "reply": N_("reply written"), "reply_sent": N_("reply sent"), "reply_failed": N_("reply failed"),
    "reply_approved": N_("reply approved"), "reply_rejected": N_("reply rejected"),
    "reply_retried": N_("reply retried"),
}


def event_label(kind: str) -> str:
    """The reader's word for a history event ``kind``."""
    label = EVENT_LABELS.get(kind)
    return i18n.gettext(label) if label else kind


def _percent_pair(value: float, limit: float) -> tuple[str, str]:
    """Both as percentages with the digits that keep "below" true, in the reader's decimal mark."""
    mark = i18n.decimal_mark()
    shown, bound = shown_below(value, limit, scale=100, min_digits=1)
    return shown.replace(".", mark) + "%", bound.replace(".", mark) + "%"


def routing_summary(decision: dict[str, Any] | None) -> str:
    """One sentence: which rule or model sent the item here and why (see the module docstring); for a
    decision of the background refiner, a second sentence says what the first routing was."""
    if not decision:
        return ""
    found = decision.get("explanation")
    explanation: dict[str, Any] = found if isinstance(found, dict) else {}
    text = _summary(decision, explanation)
    refined = explanation.get("refined") if isinstance(explanation.get("refined"), dict) else None
    first = refined.get("first") if refined and isinstance(refined.get("first"), dict) else None
    if first and first.get("team"):
        _ = i18n.gettext
        if first["team"] != decision.get("team"):
            more = _("A second look by the model with a sentence encoder moved it here from %(team)s.") % {
                "team": team_name(first["team"])}
        else:
            more = _("A second look by the model with a sentence encoder confirmed this team.")
        text = f"{text} {more}" if text else more
    return text


def _summary(decision: dict[str, Any], explanation: dict[str, Any]) -> str:
    _ = i18n.gettext
    decided_by = explanation.get("decided_by")
    label, confidence, version = decision.get("label"), decision.get("confidence"), decision.get("model_version")
    triage = explanation.get("triage") if isinstance(explanation.get("triage"), dict) else None
    if decided_by == "rule" and decision.get("rule"):
        names = ", ".join(str(n) for n in str(decision["rule"]).split(","))
        return _("Sent here by the routing rule %(rule)s.") % {"rule": names}
    if decided_by == "model" and triage and isinstance(triage.get("min_words"), int):
        return _("The mention has no words to classify (only handles, links, emoji or figures), "
                 "so it went to triage.")
    if decided_by == "model" and label and confidence is not None and version:
        if triage and isinstance(triage.get("threshold"), (int, float)):
            shown, limit = _percent_pair(float(confidence), float(triage["threshold"]))
            return _("Model %(version)s: its best label, %(label)s at %(confidence)s, is below the confidence "
                     "threshold of %(threshold)s, so the item went to triage.") % {
                "version": version, "label": label_name(label), "confidence": shown, "threshold": limit}
        return _("Model %(version)s labelled it %(label)s with %(confidence)s confidence.") % {
            "version": version, "label": label_name(label), "confidence": i18n.fmt_percent(float(confidence))}
    return str(decision.get("reason") or "")
