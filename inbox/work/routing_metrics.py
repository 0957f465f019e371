"""Routing metrics for managers: volume by team, source, label and day; time to first touch and to
resolution (median and p90, overall and per team); SLA met % for first response and resolution;
backlog size and age; transfer rate and bounces per label; the model's accuracy measured from
agents' corrections, with the drift alarm (inbox.domain.drift: the last seven days' accuracy against
the model's evaluation); crises; notification delivery; items the background refiner re-routed.
Aggregation happens in SQL over indexed ranges (inbox.storage.repo.metric_reads); only the durations
for the percentiles come back row by row."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.domain.drift import DRIFT_WINDOW_DAYS, drift_alarm, reference_accuracy
from inbox.settings import Settings
from inbox.storage.engine import snapshot_reader
from inbox.storage.repo import metric_reads as mrepo
from inbox.storage.repo import model_versions
from inbox.storage.repo import replies as rrepo

__all__ = ["compute_metrics", "percentile", "team_labels"]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) or None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def _stats(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "median_seconds": percentile(values, 50), "p90_seconds": percentile(values, 90)}


def team_labels(settings: Settings, team: str | None) -> list[str] | None:
    """The labels the model routes to ``team`` (None: every team, or a team no label routes to)."""
    if team is None:
        return None
    return [lab for lab, t in settings.routing.label_to_team.items() if t == team] or None


def _pct(a: int, b: int) -> float | None:
    return round(100 * a / (a + b), 2) if a + b else None


def _model_metadata(active: dict[str, Any] | None) -> dict[str, Any] | None:
    """The active version's metadata, else the bundled default model's (what routes without one)."""
    if active is not None:
        return dict(active.get("meta") or {})
    from routing_models.registry import default_artifact_path, load_metadata
    try:
        return load_metadata(default_artifact_path())
    except OSError:
        return None


async def compute_metrics(engine: AsyncEngine, settings: Settings, now: datetime, period: timedelta,
                          *, team: str | None = None, until: datetime | None = None) -> dict[str, Any]:
    """The figures of items created in the ``period`` before ``until`` (default: up to and including
    ``now``); overdue first responses and the backlog are as of ``now``."""
    end = now if until is None else until
    since = end - period
    until = now + timedelta(microseconds=1) if until is None else until
    async with snapshot_reader(engine).connect() as conn:  # one snapshot; on SQLite no write lock
        vol = await mrepo.volume(since, until, conn=conn, team=team)
        durs = await mrepo.durations(since, until, conn=conn, team=team)
        sla = await mrepo.sla_counts(since, until, now, conn=conn, team=team)
        backlog = await mrepo.backlog(now, conn=conn, team=team)
        # a team's transfers and the model's accuracy for it count the items the model routed to the
        # team, wherever they are now (as the brief does): an item moved out is the team's transfer
        labels = team_labels(settings, team)
        by_model = team if labels is None else None

        def routed_here(rows: list[dict[str, Any]], key: str = "label") -> list[dict[str, Any]]:
            return rows if labels is None else [r for r in rows if r[key] in labels]
        transfers = routed_here(await mrepo.transfers_by_label(since, until, conn=conn, team=by_model))
        acc = routed_here(await mrepo.accuracy(since, until, conn=conn, team=by_model))
        corrections = await mrepo.corrections_since(since, conn=conn, until=until)
        pairs = routed_here(await mrepo.corrected_pairs(since, until, conn=conn, team=by_model), "predicted_label")
        crises = await mrepo.crises_since(since, conn=conn, until=until)
        notes = await mrepo.notification_counts(since, conn=conn)
        rerouted = await mrepo.rerouted(since, until, conn=conn, team=team)
        replies = await rrepo.reply_metrics(since, until, conn=conn, team=team)
        week = routed_here(await mrepo.accuracy(now - timedelta(days=DRIFT_WINDOW_DAYS), until, conn=conn,
                                                team=by_model))
        active = await model_versions.active_version(conn=conn)

    by_team: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    by_label: Counter[str] = Counter()
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    for r in vol:
        n = int(r["n"])
        by_team[r["team"]] += n
        by_source[r["source"]] += n
        by_label[r["label"]] += n
        by_day[str(r["day"])][r["team"]] += n

    ttft: dict[str, list[float]] = defaultdict(list)
    ttr: dict[str, list[float]] = defaultdict(list)
    for r in durs:
        if r["first_touched_at"] is not None:
            ttft[r["team"]].append(max(0.0, (r["first_touched_at"] - r["created_at"]).total_seconds()))
        if r["resolved_at"] is not None:
            ttr[r["team"]].append(max(0.0, (r["resolved_at"] - r["created_at"]).total_seconds()))
    all_ttft = [v for vs in ttft.values() for v in vs]
    all_ttr = [v for vs in ttr.values() for v in vs]

    tot = Counter[str]()
    for counts in sla.values():
        tot.update(counts)
    judged = sum(int(r["judged"]) for r in acc)
    wrong = sum(int(r["corrected"] or 0) for r in acc)
    open_crises = [c for c in crises if c["status"] == "open"]
    return {
        "period": {"since": since.isoformat(), "until": end.isoformat(), "team": team},
        "volume": {
            "total": sum(by_team.values()),
            "by_team": dict(by_team),
            "by_source": dict(by_source),
            "by_label": dict(by_label),
            "by_day": {d: dict(c) for d, c in sorted(by_day.items())},
        },
        "time_to_first_touch": {**_stats(all_ttft), "by_team": {t: _stats(v) for t, v in sorted(ttft.items())}},
        "time_to_resolve": {**_stats(all_ttr), "by_team": {t: _stats(v) for t, v in sorted(ttr.items())}},
        "sla": {
            "first_response_met": tot["fr_met"],
            "first_response_missed": tot["fr_missed"],
            "met_pct": _pct(tot["fr_met"], tot["fr_missed"]),
            "resolution_met": tot["res_met"],
            "resolution_missed": tot["res_missed"],
            "resolution_met_pct": _pct(tot["res_met"], tot["res_missed"]),
            "breaches": tot["fr_breaches"] + tot["res_breaches"],
            "by_team": {
                t: {
                    "first_response_met_pct": _pct(c["fr_met"], c["fr_missed"]),
                    "resolution_met_pct": _pct(c["res_met"], c["res_missed"]),
                    "breaches": c["fr_breaches"] + c["res_breaches"],
                }
                for t, c in sorted(sla.items())
            },
        },
        "backlog": {
            b["team"]: {
                "open": int(b["open"]),
                "new": int(b["new"] or 0),
                "waiting": int(b["waiting"] or 0),
                "overdue_first_response": int(b["overdue"] or 0),
                "oldest_age_seconds": round((now - b["oldest"]).total_seconds()) if b["oldest"] else None,
                "older_than": {
                    "1h": int(b["older_1h"] or 0),
                    "1d": int(b["older_1d"] or 0),
                    "7d": int(b["older_7d"] or 0),
                },
            }
            for b in sorted(backlog, key=lambda b: b["team"])
        },
        "transfers": {
            r["label"]: {
                "items": int(r["items"]),
                "transferred": int(r["transferred"] or 0),
                "transfer_rate": round(int(r["transferred"] or 0) / int(r["items"]), 4) if r["items"] else None,
                "transfers": int(r["transfers"] or 0),
                "bounces": int(r["bounces"] or 0),
            }
            for r in sorted(transfers, key=lambda r: r["label"])
        },
        "model_accuracy": {
            "judged": judged,
            "corrected": wrong,
            "accuracy": round(1 - wrong / judged, 4) if judged else None,
            "by_label": {
                r["label"]: {
                    "judged": int(r["judged"]),
                    "corrected": int(r["corrected"] or 0),
                    "precision": round(1 - int(r["corrected"] or 0) / int(r["judged"]), 4),
                }
                for r in sorted(acc, key=lambda r: r["label"])
            },
            "corrections_by_label": {
                f"{c['predicted_label']}->{c['label']}": int(c["n"])
                for c in sorted(corrections, key=lambda c: -int(c["n"]))
            },
            # the corrected items above by (model's label, corrected label); corrections_by_label
            # counts every correction made in the period, confirmations included
            "corrected_pairs": {f"{c['predicted_label']}->{c['label']}": int(c["n"])
                                for c in sorted(pairs, key=lambda c: (-int(c["n"]), str(c["label"])))},
            "drift": drift_alarm(
                sum(int(r["judged"]) for r in week),
                sum(int(r["corrected"] or 0) for r in week),
                reference_accuracy(_model_metadata(active)),
            ),
        },
        "crises": {
            "open": notes["open_crises"],
            "opened_in_period": len(crises),
            "recent": [
                {
                    "id": c["id"],
                    "kind": c["kind"],
                    "subject": c["subject"],
                    "status": c["status"],
                    "count": c["count"],
                    "opened_at": c["opened_at"].isoformat(),
                    "item_id": c["item_id"],
                }
                for c in crises[:10]
            ],
            "open_subjects": [c["subject"] for c in open_crises],
        },
        "notifications": notes["by_kind"],
        # the background refiner's second look (inbox/ingest/second_look.py), counted apart from people's transfers
        "refiner": {"rerouted": sum(rerouted.values()), "rerouted_to": dict(sorted(rerouted.items()))},
        # answers sent from the inbox (inbox/work/reply_sender.py): how many, and how soon the first one went out
        "replies": {"by_status": replies["by_status"], "sent": replies["by_status"].get("sent", 0),
                    "failed": replies["by_status"].get("failed", 0),
                    "time_to_first_reply": _stats(replies["first_reply_seconds"])},
    }
