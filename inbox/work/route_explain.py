"""`social-inbox route explain ID`: why a mention went where it went, as one JSON-ready dict.

The stored routing decision says what fired (the rule with the evidence of each condition, or
the model version with its label probabilities); the top features come from the decision when
it stored them, else from ``classifier.explain(text)`` of the model loaded now (the answer says
which model version produced them). The queue item adds the team, watchers, priority with its
reasons (routing cues, rules, later SLA escalations and crisis links), SLA due times and state,
and the transfer history."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from inbox.errors import NotFound
from inbox.storage.engine import snapshot_reader
from inbox.storage.repo import crises as crepo
from inbox.storage.repo import explain_reads as erepo
from inbox.storage.repo import items

__all__ = ["explain_mention", "explainable", "decision_top_features"]


def _iso(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _iso(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_iso(x) for x in v]
    return v


def _rule_config(svc: Any, names: list[str]) -> list[dict[str, Any]]:
    out = []
    for n in names:
        r = next((r for r in svc.settings.rules if r.name == n), None)
        out.append({"name": n, "config": r.model_dump(exclude_none=True, exclude_defaults=True) | {"name": n}
                    if r is not None else None, "in_current_config": r is not None})
    return out


async def _top_features(svc: Any, text: str, version: str | None) -> dict[str, Any]:
    """The n-grams and cue groups that weighed most per label, from the model loaded now:
    ``{"available": True, "model_version", "features": {label: [[name, weight], ...]}, "note"?}``
    or ``{"available": False, "why"}``."""
    try:
        holder = svc.classifier or await svc.load_model()
    except Exception as e:  # noqa: BLE001 - a missing model must not hide the rest of the answer
        return {"available": False, "why": f"model not loadable: {type(e).__name__}: {e}"}
    try:
        feats = await asyncio.to_thread(holder.explain, text, 5)
    except Exception as e:  # noqa: BLE001
        return {"available": False, "why": f"explain failed: {type(e).__name__}: {e}"}
    if not feats:
        return {"available": False, "why": f"model {holder.version} cannot explain its predictions"}
    out: dict[str, Any] = {"available": True, "model_version": holder.version,
                           "features": {lab: [[f, round(float(w), 4)] for f, w in fs] for lab, fs in feats.items()}}
    if version and holder.version != version:
        out["note"] = f"recomputed with model {holder.version}; the decision was made by {version}"
    return out


def explainable(decision: dict[str, Any] | None) -> bool:
    """Whether a decision came from the model, so its top features can be shown (a crisis item's
    decision carries a label but no prediction of its own)."""
    return bool(decision and (decision.get("model_version") or decision.get("label"))
                and decision.get("action") != "crisis")


async def decision_top_features(svc: Any, decision: dict[str, Any], text: str) -> dict[str, Any]:
    """The features stored with ``decision`` (``"stored": True``), else those of the model loaded
    now (:func:`_top_features`)."""
    stored = decision.get("explanation")
    expl: dict[str, Any] = stored if isinstance(stored, dict) else {}
    if expl.get("top_features"):
        return {"available": True, "model_version": decision.get("model_version"),
                "features": expl["top_features"], "stored": True}
    return await _top_features(svc, text, decision.get("model_version"))


async def explain_mention(svc: Any, mention_id: int) -> dict[str, Any]:
    """Everything that explains mention ``mention_id``'s routing; raises NotFound."""
    async with snapshot_reader(svc.engine).connect() as conn:
        m = await items.mention_row(mention_id, conn=conn)
        if m is None:
            raise NotFound(f"no mention {mention_id}")
        decision = await items.decision_for(mention_id, conn=conn)
        item = await erepo.item_row(mention_id, conn=conn)
        events = await items.events_for(mention_id, conn=conn)
        crisis = await crepo.get_crisis(item["crisis_id"], conn=conn) if item and item["crisis_id"] else None
    out: dict[str, Any] = {
        "mention": {"id": m["id"], "source": m["source"], "platform": m["platform"], "external_id": m["external_id"],
                    "author": m["author_handle"], "reach": m["author_followers"], "lang": m["lang"], "url": m["url"],
                    "created_at": m["created_at"], "fetched_at": m["fetched_at"], "is_repost": m["is_repost"],
                    "cluster_key": m["cluster_key"], "text": m["text"][:1000]},
    }
    expl = (decision or {}).get("explanation") or {}
    if decision is None:
        out["decision"] = None
    else:
        by = expl.get("decided_by") or ("rule" if decision["rule"] and decision["team"] else
                                        "model" if decision["model_version"] else decision["action"])
        out["decision"] = {"action": decision["action"], "decided_by": by, "team": decision["team"],
                           "reason": decision["reason"], "routed_at": decision["created_at"],
                           "rules": [{**r, **c} for r, c in zip(
                               expl.get("rules") or [{"name": n} for n in (decision["rule"] or "").split(",") if n],
                               _rule_config(svc, [n for n in (decision["rule"] or "").split(",") if n]),
                               strict=False)],
                           "watchers": decision["watchers"], "priority": decision["priority"]}
        if decision["model_version"] or decision["label"]:
            probs = decision["probabilities"] or {}
            model: dict[str, Any] = {
                "version": decision["model_version"], "label": decision["label"],
                "confidence": decision["confidence"],
                "probabilities": dict(sorted(probs.items(), key=lambda kv: -kv[1])),
                "confidence_threshold": svc.settings.routing.confidence_threshold,
                "watcher_threshold": svc.settings.routing.watcher_threshold,
            }
            if explainable(decision):
                model["top_features"] = await decision_top_features(svc, decision, m["text"])
            out["decision"]["model"] = model
        if decision["action"] == "crisis":
            out["decision"]["crisis_baseline"] = expl.get("baseline")
        if expl.get("refined"):  # the background refiner's decision: what the first routing said
            out["decision"]["refined"] = expl["refined"]
    reasons = list((expl.get("priority") or {}).get("reasons") or [])
    for e in events:
        data = e["data"] or {}
        if e["kind"] == "sla_breach":
            reasons.append(f"{e['created_at'].isoformat()}: SLA breach ({data.get('sla')}) raised it to "
                           f"{(data.get('priority') or {}).get('to')}")
        elif e["kind"] == "crisis_linked":
            reasons.append(f"{e['created_at'].isoformat()}: linked to crisis {data.get('crisis_id')}, "
                           f"priority {data.get('priority')}")
    if item is None:
        out.update(team=None, status=None, watchers=[], queued=False,
                   priority={"value": decision["priority"] if decision else None, "reasons": reasons})
    else:
        team = svc.settings.team(item["team"])
        out.update(
            queued=True, team=item["team"], status=item["status"], assignee=item["assignee_name"],
            watchers=list(item["watchers"] or []),
            watchers_note=("private team: its items are never shared with watchers"
                           if item["team"] in svc.settings.private_teams else None),
            priority={"value": item["priority"], "at_routing": decision["priority"] if decision else None,
                      "reasons": reasons},
            sla={"first_response_target": str(team.sla_first_response) if team else None,
                 "resolution_target": str(team.sla_resolution) if team else None,
                 "business_hours": team.business_hours.model_dump() if team and team.business_hours else "24/7",
                 "first_response_due": item["first_response_due"], "resolve_due": item["resolve_due"],
                 "paused_since": item["sla_paused_at"], "first_touched_at": item["first_touched_at"],
                 "resolved_at": item["resolved_at"],
                 "breached": {"first_response": item["breached_first_response"],
                              "resolution": item["breached_resolution"]}},
            transfers={"count": item["transfers"], "bounces": item["bounces"],
                       "history": [{"at": e["created_at"], "actor": e["actor"], **(e["data"] or {})}
                                   for e in events if e["kind"] == "transfer"]},
        )
    out["crisis"] = ({"id": crisis["id"], "kind": crisis["kind"], "subject": crisis["subject"],
                      "status": crisis["status"], "count": crisis["count"], "threshold": crisis["threshold"],
                      "opened_at": crisis["opened_at"], "item_id": crisis["item_id"]} if crisis else None)
    out["history"] = [{"at": e["created_at"], "kind": e["kind"], "actor": e["actor"], "team": e["team"]}
                      for e in events]
    return _iso(out)  # type: ignore[no-any-return]
