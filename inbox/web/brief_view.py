"""The brief's figures (inbox.work.brief) as labelled rows in the current locale: one view shared by
the HTML e-mail, the plain-text part, the PDF and the Reports page, so they say the same thing.
Every value here is plain text; mention texts stay untrusted and each renderer escapes them."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from inbox.settings import Settings
from inbox.web import i18n, names

__all__ = ["brief_view", "in_locale", "change_text", "audience_name"]

_ = i18n.gettext


@contextmanager
def in_locale(lang: str) -> Iterator[str]:
    """Render in ``lang`` (en or it) inside the block, then go back to the caller's locale."""
    before = i18n.current_locale()
    i18n.use_locale(lang)
    try:
        yield i18n.current_locale()
    finally:
        i18n.use_locale(before)


def change_text(now: float | None, before: float | None, *, points: bool = False) -> str:
    """'+25%', '−10%', 'no change', 'new' (nothing before) or '—' (nothing now); ``points``: the
    difference of two percentages in percentage points."""
    if now is None or before is None:
        return "—"
    if points:
        diff = round(now - before, 1)
        if diff == 0:
            return _("no change")
        sign = "+" if diff > 0 else "−"
        return _("%(sign)s%(n)s pts") % {"sign": sign, "n": i18n.fmt_number(abs(diff))}
    if before == 0:
        return _("new this period") if now else _("no change")
    rel = (now - before) / before
    if round(rel, 3) == 0:
        return _("no change")
    return ("+" if rel > 0 else "−") + i18n.fmt_percent(abs(rel))


def audience_name(settings: Settings, audience: str) -> str:
    """"Executive", or a team as the rest of the app names it (translated unless an admin named it)."""
    if audience == "executive":
        return _("Executive")
    return names.team_name(audience, settings) if settings.team(audience) else audience


def _pct(v: float | None) -> str:
    return i18n.fmt_percent(v, ratio=False)


def _row(label: str, now: Any, before: Any, fmt: Any = i18n.fmt_number, *, points: bool = False) -> dict[str, str]:
    return {"label": label, "value": fmt(now), "previous": fmt(before), "change": change_text(now, before,
                                                                                               points=points)}


def _period(since: datetime, until: datetime) -> str:
    return f"{i18n.fmt_date(since)} – {i18n.fmt_date(until - timedelta(seconds=1))}"


def brief_view(brief: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Headings, figure rows and lists of the brief in the current locale."""
    cur, prev = brief["current"], brief["previous"]
    since, until = datetime.fromisoformat(brief["since"]), datetime.fromisoformat(brief["until"])
    name = audience_name(settings, brief["audience"])
    n_crises = len(brief["crises"])
    figures = [
        _row(_("Mentions"), cur["volume"], prev["volume"]),
        _row(_("First responses within the SLA"), cur["sla_met_pct"], prev["sla_met_pct"], _pct, points=True),
        _row(_("Median time to first response"), cur["first_response_median"], prev["first_response_median"],
             i18n.fmt_seconds),
        _row(_("Median time to resolution"), cur["resolution_median"], prev["resolution_median"], i18n.fmt_seconds),
        _row(_("Items transferred to another team"), cur["transferred"], prev["transferred"]),
        _row(_("Misroutes corrected by agents"), brief["misroutes"]["count"], brief["misroutes"]["previous"]),
        _row(_("Model accuracy (from corrections)"), cur["accuracy_pct"], prev["accuracy_pct"], _pct, points=True),
    ]
    teams = [{"name": audience_name(settings, r["team"]), "value": i18n.fmt_number(r["volume"]),
              "previous": i18n.fmt_number(r["previous"]),
              "change": change_text(r["volume"], r["previous"]), "sla": _pct(r["sla_met_pct"]),
              "first_response": i18n.fmt_seconds(r["first_response_median"]),
              "private": r["private"]} for r in brief["teams"]]
    withheld = [audience_name(settings, t) for t in brief["withheld"]]
    return {
        "title": _("Executive brief") if brief["audience"] == "executive" else _("Brief: %(team)s") % {"team": name},
        "audience": name, "brand": brief.get("brand", ""), "period": _period(since, until),
        "previous_period": _period(datetime.fromisoformat(brief["previous_since"]), since),
        "figures": figures, "teams": teams,
        "themes": [{"keywords": ", ".join(t["keywords"]) or "—",
                    "size": i18n.ngettext("%(num)s mention", "%(num)s mentions", t["items"]) % {
                        "num": i18n.fmt_number(t["items"])},
                    "examples": [{"text": e["text"], "source": e["source"], "id": e["id"]} for e in t["examples"]]}
                   for t in brief["themes"]],
        "keywords": [{"word": w, "count": i18n.fmt_number(n)} for w, n in brief["keywords"]],
        "crises_heading": i18n.ngettext("%(num)s crisis opened", "%(num)s crises opened", n_crises) % {
            "num": i18n.fmt_number(n_crises)},
        "crises": [{"subject": names.crisis_subject(c["kind"], c["subject"]), "kind": names.crisis_kind(c["kind"]),
                    "count": i18n.ngettext("%(num)s mention", "%(num)s mentions", c["count"]) % {
                        "num": i18n.fmt_number(c["count"])},
                    "opened": i18n.fmt_datetime(c["opened_at"], "short"),
                    "status": _("open") if c["status"] == "open" else _("closed")} for c in brief["crises"]],
        "misroutes": [{"from": audience_name(settings, a), "to": audience_name(settings, b),
                       "count": i18n.fmt_number(n)} for a, b, n in brief["misroutes"]["routes"]],
        "withheld_note": (_("Private teams (%(teams)s) appear as counts only: their mentions are not quoted.")
                          % {"teams": ", ".join(withheld)}) if withheld else "",
        "labels": {"figure": _("Figure"), "this": _("This period"), "before": _("Previous period"),
                   "change": _("Change"), "by_team": _("By team"), "team": _("Team"), "mentions": _("Mentions"),
                   "sla": _("SLA met"), "first_response": _("Median first response"), "themes": _("Top themes"),
                   "no_themes": _("No recurring theme this period."), "keywords": _("Most used words"),
                   "crises": _("Crises"), "misroutes": _("Misroutes"), "source": _("Source"),
                   "compared": _("Compared with %(period)s") % {"period": _period(
                       datetime.fromisoformat(brief["previous_since"]), since)},
                   "footer": _("Sent by social-inbox. Mention texts are quoted as written by their authors.")},
    }
