"""Edits re-delivered by connectors: a mention already stored comes again with a later
``edited_at`` and another text. The latest text is stored, the one it replaces is kept as a
revision (mention_revision, with the time it was current from), and the item is routed again on
the new text only while nobody has touched it (still new, unassigned, no event but the router's);
otherwise the item gets an ``edited`` event and keeps its team. Runs inside the ingest batch's
transaction (:mod:`inbox.ingest.pipeline`)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from connectors.base import Mention
from inbox.domain import sla_calendar
from inbox.domain.types import Decision
from inbox.settings import Settings
from inbox.storage.repo import items, mentions, revisions

__all__ = ["find_edits", "apply_edits"]

_UPDATED = ("text", "lang", "edited_at", "metrics", "raw", "cluster_key", "copy_key", "provenance", "deleted",
            "url")


async def find_edits(known: Sequence[Mention], *, conn: AsyncConnection) -> dict[tuple[str, str], dict[str, Any]]:
    """Of mentions already stored, those re-delivered as a later edit with another text: their
    stored version (id, text, edited_at, created_at), by (source, external_id)."""
    candidates = [m for m in known if m.edited_at is not None]
    if not candidates:
        return {}
    stored = await revisions.stored_versions([(m.source, m.external_id) for m in candidates], conn=conn)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for m in candidates:
        key = (m.source, m.external_id)
        old = stored.get(key)
        assert m.edited_at is not None
        if old is None or (old["edited_at"] is not None and m.edited_at <= old["edited_at"]):
            continue
        if old["text"] != m.text:
            found[key] = old
    return found


def apply_edits(c: Connection, rows: Sequence[dict[str, Any]], stored: dict[tuple[str, str], dict[str, Any]],
                decisions: dict[tuple[str, str], Decision], settings: Settings, now: datetime
                ) -> tuple[int, list[int]]:
    """Store each edit (``rows`` are the mention rows of the edited mentions, as the pipeline built
    them); returns how many were stored and the items routed again."""
    done, rerouted, edited = 0, [], []
    for row in rows:
        key = (row["source"], row["external_id"])
        old = stored[key]
        mid = int(old["id"])
        if not revisions.update_text(c, mid, {k: row[k] for k in _UPDATED}):
            continue  # a newer edit is stored already
        revisions.add_revision(c, mid, old["text"], old["edited_at"] or old["created_at"] or old["fetched_at"], now)
        done += 1
        edited.append(mid)
        if not revisions.item_exists(c, mid):
            continue
        d = decisions[key]
        if d.team is not None and d.action == "route" and _reroute(c, mid, d, settings, now):
            rerouted.append(mid)
            continue
        items.insert_events_sync(c, [{"item_id": mid, "kind": "edited", "actor": revisions.ROUTER, "team": None,
                                      "data": {"edited_at": row["edited_at"].isoformat()}, "created_at": now}])
    items.mark_copies_sync(c, edited)  # a new text: maybe a copy now, or another's original
    return done, rerouted


def _reroute(c: Connection, mid: int, d: Decision, settings: Settings, now: datetime) -> bool:
    first_due, resolve_due = sla_calendar.due_times(now, settings.team(d.team or ""))
    values = {"team": d.team, "label": d.label, "confidence": d.confidence, "priority": d.priority,
              "watchers": d.watchers, "first_response_due": first_due, "resolve_due": resolve_due, "updated_at": now}
    if not revisions.reroute_if_untouched(c, mid, values):
        return False
    mentions.insert_decisions_sync(c, [{
        "mention_id": mid, "team": d.team, "label": d.label, "confidence": d.confidence,
        "probabilities": d.probabilities, "model_version": d.model_version, "rule": d.rule, "reason": d.reason,
        "watchers": d.watchers, "priority": d.priority, "action": d.action, "explanation": d.explanation,
        "created_at": now}])
    items.insert_events_sync(c, [{"item_id": mid, "kind": "routed", "actor": revisions.ROUTER, "team": d.team,
                                  "data": {"rule": d.rule, "label": d.label, "priority": d.priority,
                                           "watchers": d.watchers, "action": d.action, "after": "edited"},
                                  "created_at": now}])
    return True
