"""Auto-assignment per team (TeamSettings.assignment):

- ``round_robin``: the next item goes to the available agent whose last assignment in this team is
  the oldest (a team-wide sequence number stored in ``membership.last_assigned_seq``, so the turn
  survives restarts and is shared by every instance);
- ``least_loaded``: the next item goes to the available agent holding the fewest claimed items,
  ties broken round-robin.

Either way an agent only receives items while below both their own capacity (``user.capacity``,
counted over all teams) and the team's ``agent_capacity``; when everybody is full, items wait in
the queue. An auto-assigned item the assignee has not acted on within ``team.reassign_after`` (or
whose assignee became unavailable) moves to another agent, or back to the queue when nobody has
room. Concurrency: see inbox.storage.repo.assignment (team, agent and item locks, SKIP LOCKED)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from inbox.settings import TeamSettings
from inbox.storage.repo import assignment as arepo
from inbox.storage.repo import items
from inbox.work import people_notify

__all__ = ["AgentSlot", "pick_agent", "auto_assign", "reassign_idle"]

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class AgentSlot:
    """An agent as the assigner sees them during one round."""

    id: int
    name: str
    capacity: int
    load: int          # claimed items in every team
    team_load: int     # claimed items in this team
    seq: int           # round-robin position: higher = assigned more recently


def pick_agent(slots: list[AgentSlot], strategy: str, team_capacity: int, *, exclude: int | None = None
               ) -> AgentSlot | None:
    """The agent who gets the next item, or None when everybody is at capacity. Pure."""
    free = [a for a in slots if a.id != exclude and a.load < a.capacity and a.team_load < team_capacity]
    if not free:
        return None
    if strategy == "least_loaded":
        return min(free, key=lambda a: (a.load, a.seq, a.id))
    return min(free, key=lambda a: (a.seq, a.id))


async def _slots(team: TeamSettings, conn: Any, now: Any) -> list[AgentSlot]:
    rows = await arepo.agents(team.name, conn=conn)
    load = await arepo.loads([r["id"] for r in rows], team.name, conn=conn, now=now)
    return [AgentSlot(id=r["id"], name=r["name"], capacity=r["capacity"], load=load[r["id"]][0],
                      team_load=load[r["id"]][1], seq=r["last_assigned_seq"] or 0) for r in rows]


def _take(slot: AgentSlot, counter: list[int], seqs: dict[int, int]) -> None:
    counter[0] += 1
    slot.seq = counter[0]
    slot.load += 1
    slot.team_load += 1
    seqs[slot.id] = slot.seq


async def auto_assign(svc: Any, *, publish: Callable[[list[int]], Any] | None = None) -> dict[str, int]:
    """One round over every team with automatic assignment; returns items assigned per team."""
    now = svc.clock.now()
    out: dict[str, int] = {}
    changed: list[int] = []
    for team in svc.settings.teams:
        if team.assignment == "manual":
            continue
        async with svc.engine.connect() as conn:
            if not await arepo.has_new_items(team.name, conn=conn):
                continue  # nothing to do: do not take (and hold) the team lock
        async with svc.engine.begin() as conn:
            if not await arepo.lock_team(team.name, conn=conn):
                continue  # another instance is assigning this team right now
            slots = await _slots(team, conn, now)
            room = sum(max(0, min(a.capacity - a.load, team.agent_capacity - a.team_load)) for a in slots)
            if room == 0:
                continue
            counter = [max((a.seq for a in slots), default=0)]
            seqs: dict[int, int] = {}
            events = []
            for item_id in await arepo.new_items(team.name, conn=conn, limit=room):
                slot = pick_agent(slots, team.assignment, team.agent_capacity)
                if slot is None:
                    break
                if not await arepo.assign(item_id, slot.id, conn=conn, now=now, owner=svc.owner):
                    continue
                _take(slot, counter, seqs)
                events.append({"item_id": item_id, "kind": "assigned", "actor": "system", "team": team.name,
                               "data": {"to": slot.name, "strategy": team.assignment}, "created_at": now})
                await people_notify.on_assigned(conn, item_id, slot.id, "system", now)
                changed.append(item_id)
            await arepo.bump_seq(team.name, seqs, conn=conn)
            await items.insert_events(events, conn=conn)
        if events:
            out[team.name] = len(events)
    if changed:
        log.info("auto_assigned", **out)
        if publish is not None:
            publish(changed)
    return out


async def reassign_idle(svc: Any, *, publish: Callable[[list[int]], Any] | None = None) -> dict[str, int]:
    """Move auto-assigned items whose assignee has not acted within ``reassign_after`` (or is no
    longer available) to another agent, or back to the queue; returns items moved per team."""
    now = svc.clock.now()
    out: dict[str, int] = {}
    changed: list[int] = []
    for team in svc.settings.teams:
        if team.assignment == "manual":
            continue
        cutoff = now - team.reassign_after if team.reassign_after is not None else None
        async with svc.engine.connect() as conn:
            if not await arepo.idle_assigned(team.name, cutoff, conn=conn, limit=1, lock=False):
                continue  # nothing idle: leave the team lock to the assigner
        async with svc.engine.begin() as conn:
            if not await arepo.lock_team(team.name, conn=conn):
                continue
            idle = await arepo.idle_assigned(team.name, cutoff, conn=conn)
            if not idle:
                continue
            slots = await _slots(team, conn, now)
            by_id = {a.id: a for a in slots}
            counter = [max((a.seq for a in slots), default=0)]
            seqs: dict[int, int] = {}
            events = []
            for row in idle:
                frm = row["assignee_id"]
                slot = pick_agent(slots, team.assignment, team.agent_capacity, exclude=frm)
                to = slot.id if slot else None
                if not await arepo.reassign(row["id"], frm, to, conn=conn, now=now, owner=svc.owner):
                    continue
                if frm in by_id:
                    by_id[frm].load -= 1
                    by_id[frm].team_load -= 1
                if slot is not None:
                    _take(slot, counter, seqs)
                    await people_notify.on_assigned(conn, row["id"], slot.id, "system", now)
                reason = "idle" if cutoff is not None and row["assigned_at"] < cutoff else "unavailable"
                events.append({"item_id": row["id"], "kind": "reassigned", "actor": "system", "team": team.name,
                               "data": {"from_user_id": frm, "to": slot.name if slot else None, "reason": reason},
                               "created_at": now})
                changed.append(row["id"])
            await arepo.bump_seq(team.name, seqs, conn=conn)
            await items.insert_events(events, conn=conn)
        if events:
            out[team.name] = len(events)
    if changed:
        log.info("reassigned_idle", **out)
        if publish is not None:
            publish(changed)
    return out
