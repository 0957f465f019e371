"""The brief: what was said to and about the company in a period and how each department answered,
for one audience — a team, or "executive" (every team). Figures only, in no language: the web
layer renders them (HTML e-mail, plain text, PDF) in the reader's language.

Every figure comes with the previous period of the same length. Private teams (HR) appear in a
brief for readers outside them as counts only: their items give no theme, keyword or example.
The result is plain JSON (numbers, strings, lists, dicts) so a sent brief is stored as it was."""
from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbox.domain.keywords import top_keywords
from inbox.settings import Settings
from inbox.storage.engine import snapshot_reader
from inbox.storage.repo import brief_reads as brepo
from inbox.storage.repo import metric_reads as mrepo
from inbox.work.routing_metrics import team_labels

__all__ = ["EXECUTIVE", "build_brief", "audiences", "period_ending", "pct", "change", "recipient_problem"]

EXECUTIVE = "executive"


def audiences(settings: Settings) -> list[str]:
    """Every audience a brief can be made for: "executive" and each team."""
    return [EXECUTIVE] + [t.name for t in settings.teams]


def recipient_problem(settings: Settings, audience: str, email: str) -> str | None:
    """Why (audience, email) cannot receive a brief, or None: one plain address, a known audience."""
    if audience not in audiences(settings):
        return f"unknown audience {audience!r} (a team or {EXECUTIVE!r})"
    local, _, domain = email.partition("@")
    if (not local or "." not in domain or len(email) > 254
            or any(c.isspace() or c in ",;<>()[]\\\"" or ord(c) < 32 for c in email)):
        return f"{email!r} is not an e-mail address"
    return None


def period_ending(now: datetime, every: timedelta) -> tuple[datetime, datetime]:
    """The last whole period of length ``every`` before ``now``, aligned on Monday 00:00 UTC
    (5 January 1970): weekly briefs cover Monday to Monday, daily ones midnight to midnight."""
    anchor = datetime(1970, 1, 5, tzinfo=now.tzinfo)
    k = (now - anchor) // every
    end = anchor + k * every
    return end - every, end


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def change(now: float | None, before: float | None) -> float | None:
    """Relative change in percent, None when there is nothing to compare with."""
    if now is None or not before:
        return None
    return round(100 * (now - before) / before, 1)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


async def _figures(conn: AsyncConnection, since: datetime, until: datetime, now: datetime,
                   team: str | None, labels: list[str] | None = None) -> dict[str, Any]:
    """The period's countable figures for one team or all (team None). With ``labels`` (a team's),
    transfers and the model's accuracy count the items the model routed to the team, wherever they
    are now: an item moved out of the team is the team's transfer and the model's mistake there,
    not the receiving team's."""
    vol = await mrepo.volume(since, until, conn=conn, team=team)
    durs = await mrepo.durations(since, until, conn=conn, team=team)
    sla = await mrepo.sla_counts(since, until, now, conn=conn, team=team)
    by_model = team if labels is None else None
    tr = [r for r in await mrepo.transfers_by_label(since, until, conn=conn, team=by_model)
          if labels is None or r["label"] in labels]
    acc = [r for r in await mrepo.accuracy(since, until, conn=conn, team=by_model)
           if labels is None or r["label"] in labels]
    by_team: Counter[str] = Counter()
    by_label: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for r in vol:
        by_team[r["team"]] += int(r["n"])
        by_label[r["label"]] += int(r["n"])
        by_source[r["source"]] += int(r["n"])
    first = [max(0.0, (r["first_touched_at"] - r["created_at"]).total_seconds()) for r in durs
             if r["first_touched_at"] is not None]
    resolve = [max(0.0, (r["resolved_at"] - r["created_at"]).total_seconds()) for r in durs
               if r["resolved_at"] is not None]
    met = sum(c["fr_met"] for c in sla.values())
    missed = sum(c["fr_missed"] for c in sla.values())
    judged = sum(int(r["judged"]) for r in acc)
    corrected = sum(int(r["corrected"] or 0) for r in acc)
    return {
        "volume": sum(by_team.values()), "by_team": dict(by_team), "by_label": dict(by_label),
        "by_source": dict(by_source),
        "first_response_median": _median(first), "first_response_n": len(first),
        "resolution_median": _median(resolve), "resolution_n": len(resolve),
        "sla_met": met, "sla_missed": missed, "sla_met_pct": pct(met, met + missed),
        "transferred": sum(int(r["transferred"] or 0) for r in tr),
        "transfers": sum(int(r["transfers"] or 0) for r in tr), "bounces": sum(int(r["bounces"] or 0) for r in tr),
        "judged": judged, "corrected": corrected,
        "accuracy_pct": pct(judged - corrected, judged),
    }


async def _themes(conn: AsyncConnection, since: datetime, until: datetime, teams: list[str] | None,
                  settings: Settings) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    themes = []
    for key, n in await brepo.top_clusters(since, until, conn=conn, teams=teams):
        if n < 2:  # one mention is not a theme
            continue
        found = await brepo.cluster_examples(key, since, until, conn=conn, teams=teams, limit=12)
        words = top_keywords([e["text"] for e in found], 4, ignore=settings.brand.names)
        examples: dict[str, dict[str, Any]] = {}  # one example per distinct text: copies say nothing more
        for e in found:
            text = " ".join(str(e["text"]).split())[:280]
            if text not in examples and len(examples) < 3:
                examples[text] = {"id": e["id"], "source": e["source"], "team": e["team"], "text": text}
        themes.append({"key": key, "items": n, "keywords": [w for w, _ in words],
                       "examples": list(examples.values())})
    texts = await brepo.recent_texts(since, until, conn=conn, teams=teams)
    keywords = [[w, c] for w, c in top_keywords(texts, 10, ignore=settings.brand.names)]
    return themes, keywords


async def build_brief(engine: AsyncEngine, settings: Settings, audience: str, since: datetime,
                      until: datetime, *, now: datetime | None = None) -> dict[str, Any]:
    """The brief of ``audience`` for [since, until), compared with the period of the same length
    before it. ``now`` (default ``until``) decides which first responses are overdue."""
    if audience != EXECUTIVE and settings.team(audience) is None:
        raise ValueError(f"unknown audience {audience!r}")
    now = now or until
    prev_since = since - (until - since)
    team = None if audience == EXECUTIVE else audience
    private = settings.private_teams
    # whose texts the readers may see: their own team's, and no private team's unless it is theirs
    content_teams = [team] if team else [t.name for t in settings.teams if t.name not in private]
    labels = team_labels(settings, team)
    async with snapshot_reader(engine).connect() as conn:
        cur = await _figures(conn, since, until, now, team, labels)
        prev = await _figures(conn, prev_since, since, now, team, labels)
        themes, keywords = await _themes(conn, since, until, content_teams, settings)
        crises = await brepo.crises_between(since, until, conn=conn, labels=(labels or []) if team else None)
        misroutes = await brepo.corrections_between(since, until, conn=conn, teams=[team] if team else None)
        prev_misroutes = await brepo.corrections_between(prev_since, since, conn=conn,
                                                         teams=[team] if team else None)
    teams_rows = []
    if team is None:
        per_team = {}
        async with snapshot_reader(engine).connect() as conn:
            for t in settings.teams:
                tl = team_labels(settings, t.name)
                per_team[t.name] = (await _figures(conn, since, until, now, t.name, tl),
                                    await _figures(conn, prev_since, since, now, t.name, tl))
        for t in settings.teams:
            c, p = per_team[t.name]
            teams_rows.append({"team": t.name, "name": t.display_name or t.name, "private": t.private,
                               "volume": c["volume"], "previous": p["volume"],
                               "sla_met_pct": c["sla_met_pct"], "first_response_median": c["first_response_median"]})
    return {
        "audience": audience, "since": since.isoformat(), "until": until.isoformat(),
        "previous_since": prev_since.isoformat(), "brand": settings.brand.names[0] if settings.brand.names else "",
        "current": cur, "previous": prev, "teams": teams_rows,
        # a team's brief shows no other team's figures, so only the executive one withholds anything
        "withheld": sorted(private) if team is None else [],
        "themes": themes, "keywords": keywords,
        "crises": [{"subject": c["subject"], "kind": c["kind"], "label": c["label"], "status": c["status"],
                    "count": int(c["count"]), "opened_at": c["opened_at"].isoformat()} for c in crises],
        "misroutes": {"count": sum(n for _, _, n in misroutes), "previous": sum(n for _, _, n in prev_misroutes),
                      "routes": [[a, b, n] for a, b, n in misroutes[:8]]},
    }
