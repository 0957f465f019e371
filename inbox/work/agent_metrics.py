"""Per-agent figures for the manager's dashboard: items handled (assigned to the agent and touched),
the median time to their first touch, and the share of them touched within the first-response SLA."""
from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.storage.engine import snapshot_reader
from inbox.storage.repo import brief_reads

__all__ = ["agent_metrics", "summarise"]


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """name -> {display, handled, median_first_response, sla_met, sla_judged, sla_met_pct} from
    (name, display_name, created_at, first_touched_at, first_response_due) rows."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["first_touched_at"] is not None:
            by[r["name"]].append(r)
    out = {}
    for name, items in by.items():
        waits = [max(0.0, (r["first_touched_at"] - r["created_at"]).total_seconds()) for r in items]
        judged = [r for r in items if r["first_response_due"] is not None]
        met = sum(1 for r in judged if r["first_touched_at"] <= r["first_response_due"])
        out[name] = {"display": items[0]["display_name"] or name, "handled": len(items),
                     "median_first_response": round(statistics.median(waits), 1),
                     "sla_met": met, "sla_judged": len(judged),
                     "sla_met_pct": round(100 * met / len(judged), 1) if judged else None}
    return out


async def agent_metrics(engine: AsyncEngine, since: datetime, until: datetime, team: str | None
                        ) -> dict[str, dict[str, Any]]:
    """Each agent's figures over the items created in [since, until) (of ``team``, or all)."""
    async with snapshot_reader(engine).connect() as conn:
        rows = await brief_reads.agent_rows(since, until, conn=conn, teams=[team] if team else None)
    return summarise(rows)
