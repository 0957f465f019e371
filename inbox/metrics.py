"""Routing metrics for managers: volume, time to first touch and resolution, SLA met %, backlog,
transfers and bounces per label, model accuracy measured from agents' corrections."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.repo import metrics as mrepo
from inbox.settings import Settings

__all__ = ["compute_metrics", "percentile"]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) or None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def _stats(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "median_seconds": percentile(values, 50), "p90_seconds": percentile(values, 90)}


async def compute_metrics(engine: AsyncEngine, settings: Settings, now: datetime, period: timedelta,
                          *, team: str | None = None) -> dict[str, Any]:
    since = now - period
    async with engine.connect() as conn:
        rows = await mrepo.items_since(since, conn=conn, team=team)
        corrections = await mrepo.corrections_since(since, conn=conn)
        backlog = await mrepo.open_backlog(conn=conn, team=team)
    by_team = Counter(r["team"] for r in rows)
    by_source = Counter(r["source"] for r in rows)
    by_label = Counter(r["label"] or "none" for r in rows)
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_day[r["created_at"].date().isoformat()][r["team"]] += 1
    ttft = [(r["first_touched_at"] - r["created_at"]).total_seconds() for r in rows if r["first_touched_at"]]
    ttr = [(r["resolved_at"] - r["created_at"]).total_seconds() for r in rows if r["resolved_at"]]
    met = missed = 0
    for r in rows:
        due = r["first_response_due"]
        if due is None:
            continue
        if r["first_touched_at"] is not None:
            met, missed = (met + 1, missed) if r["first_touched_at"] <= due else (met, missed + 1)
        elif now > due:
            missed += 1
    transfers: dict[str, dict[str, Any]] = {}
    for lab in sorted({r["label"] or "none" for r in rows}):
        rs = [r for r in rows if (r["label"] or "none") == lab]
        moved = sum(1 for r in rs if r["transfers"] > 0)
        transfers[lab] = {"items": len(rs), "transferred": moved,
                          "transfer_rate": round(moved / len(rs), 4) if rs else None,
                          "bounces": sum(r["bounces"] for r in rs)}
    corrected = {c["mention_id"] for c in corrections}
    decided = [r for r in rows if r["label"] and (r["status"] in ("resolved", "replied", "waiting")
                                                  or r["transfers"] > 0 or r["id"] in corrected)]
    wrong = sum(1 for r in decided if r["id"] in corrected)
    return {
        "period": {"since": since.isoformat(), "until": now.isoformat(), "team": team},
        "volume": {"total": len(rows), "by_team": dict(by_team), "by_source": dict(by_source),
                   "by_label": dict(by_label), "by_day": {d: dict(c) for d, c in sorted(by_day.items())}},
        "time_to_first_touch": _stats(ttft),
        "time_to_resolve": _stats(ttr),
        "sla": {"first_response_met": met, "first_response_missed": missed,
                "met_pct": round(100 * met / (met + missed), 2) if met + missed else None,
                "breaches": sum(1 for r in rows if r["breached_first_response"] or r["breached_resolution"])},
        "backlog": {b["team"]: {"open": int(b["n"]),
                                "oldest_age_seconds": round((now - b["oldest"]).total_seconds()) if b["oldest"] else None}
                    for b in backlog},
        "transfers": transfers,
        "model_accuracy": {"judged": len(decided), "corrected": wrong,
                           "accuracy": round(1 - wrong / len(decided), 4) if decided else None,
                           "corrections_by_label": dict(Counter(f"{c['predicted_label']}->{c['label']}"
                                                                for c in corrections))},
        "crises": {"open": 0},
    }
