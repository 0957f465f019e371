"""Notifications for people: the rows, each person's preferences, and the reads of the list and
the unread count, always joined to the items the reader may see (a notification about an item that
moved to a private team the reader is not in disappears from their list and count)."""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, not_, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.people_notify import Draft, Prefs, Recipient
from inbox.storage.repo._common import T_ITEM, T_MEMBER, T_TEAM, T_USER, T_USER_NOTE, dialect_insert
from inbox.storage.repo.items import bound_list, visible_clause
from inbox.storage.tables import ItemStatus

__all__ = ["record", "record_sync", "recipients_sync", "leads_sync", "private_teams_sync", "item_scope_sync",
           "list_for", "unread_count",
           "mark_read", "mark_all_read", "unread_about", "get_prefs", "set_prefs", "header_state", "newer_than",
           "max_id", "due_candidates"]


async def record(drafts: Sequence[Draft], *, conn: AsyncConnection, now: datetime) -> list[int]:
    """:func:`record_sync` on an async connection."""
    return await conn.run_sync(record_sync, drafts, now)


def record_sync(c: Connection, drafts: Sequence[Draft], now: datetime) -> list[int]:
    """Insert the drafts in the caller's transaction; a (user, key) already told is skipped.
    Returns the user ids that got a new row."""
    told: list[int] = []
    for d in drafts:
        stmt = (dialect_insert(c, T_USER_NOTE)
                .values(user_id=d.user_id, kind=d.kind, item_id=d.item_id, actor=d.actor, data=d.data,
                        dedupe_key=d.key[:255], created_at=now)
                .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"]).returning(T_USER_NOTE.c.id))
        if c.execute(stmt).first() is not None:
            told.append(d.user_id)
    return told


def _people(c: Connection, where: Any) -> dict[int, Recipient]:
    rows = list(c.execute(select(T_USER.c.id, T_USER.c.name, T_USER.c.role, T_USER.c.notify_prefs)
                          .where(where, T_USER.c.active.is_(True))).mappings())
    if not rows:
        return {}
    teams: dict[int, list[str]] = {int(r["id"]): [] for r in rows}
    q = select(T_MEMBER.c.user_id, T_MEMBER.c.team).where(T_MEMBER.c.user_id.in_(list(teams)))
    for uid, team in c.execute(q.order_by(T_MEMBER.c.team)):
        teams[int(uid)].append(team)
    return {int(r["id"]): Recipient(int(r["id"]), r["name"], r["role"], tuple(teams[int(r["id"])]),
                                    Prefs.from_json(r["notify_prefs"])) for r in rows}


def recipients_sync(c: Connection, *, ids: Collection[int] = (), names: Collection[str] = ()
                    ) -> dict[int, Recipient]:
    """Active users by id or by name (names compared case-insensitively)."""
    if not ids and not names:
        return {}
    return _people(c, or_(T_USER.c.id.in_(list(ids)), func.lower(T_USER.c.name).in_([n.lower() for n in names])))


def leads_sync(c: Connection, team: str) -> dict[int, Recipient]:
    """The active leads of ``team``."""
    members = select(T_MEMBER.c.user_id).where(T_MEMBER.c.team == team)
    return _people(c, and_(T_USER.c.role == "lead", T_USER.c.id.in_(members)))


def private_teams_sync(c: Connection) -> set[str]:
    return {r[0] for r in c.execute(select(T_TEAM.c.name).where(T_TEAM.c.private.is_(True)))}


def item_scope_sync(c: Connection, item_id: int) -> tuple[str, list[str]] | None:
    """The item's team and watching teams."""
    row = c.execute(select(T_ITEM.c.team, T_ITEM.c.watchers).where(T_ITEM.c.id == item_id)).first()
    return None if row is None else (row[0], list(row[1] or []))


def _visible(teams: Sequence[str] | None, private: Iterable[str]) -> Any:
    """The item query's rule, with watchers of a private team's item left out."""
    if teams is None:
        return True
    hidden = sorted(set(private) - set(teams))
    clause = visible_clause(teams)
    return and_(clause, not_(T_ITEM.c.team.in_(bound_list(hidden)))) if hidden else clause


def _mine(user_id: int, teams: Sequence[str] | None, private: Iterable[str]) -> Any:
    return _mine_of(user_id, teams, private)


def _mine_of(user_id: Any, teams: Sequence[str] | None, private: Iterable[str]) -> Any:
    return and_(T_USER_NOTE.c.user_id == user_id, _visible(teams, private))


_JOIN = T_USER_NOTE.join(T_ITEM, T_ITEM.c.id == T_USER_NOTE.c.item_id)


async def list_for(user_id: int, *, conn: AsyncConnection, teams: Sequence[str] | None, private: Iterable[str],
                   limit: int = 50, before: int | None = None, unread: bool = False) -> list[dict[str, Any]]:
    """The user's notifications about items they may see, newest first (keyset on ``before``)."""
    q = (select(T_USER_NOTE.c.id, T_USER_NOTE.c.kind, T_USER_NOTE.c.item_id, T_USER_NOTE.c.actor,
                T_USER_NOTE.c.data, T_USER_NOTE.c.created_at, T_USER_NOTE.c.read_at, T_ITEM.c.team,
                T_ITEM.c.status)
         .select_from(_JOIN).where(_mine(user_id, teams, private)))
    if before is not None:
        q = q.where(T_USER_NOTE.c.id < before)
    if unread:
        q = q.where(T_USER_NOTE.c.read_at.is_(None))
    return [dict(r) for r in (await conn.execute(q.order_by(T_USER_NOTE.c.id.desc()).limit(limit))).mappings()]


async def unread_count(user_id: int, *, conn: AsyncConnection, teams: Sequence[str] | None,
                       private: Iterable[str]) -> int:
    q = (select(func.count()).select_from(_JOIN)
         .where(_mine(user_id, teams, private), T_USER_NOTE.c.read_at.is_(None)))
    return int((await conn.execute(q)).scalar_one())


@lru_cache(maxsize=256)
def _header_stmt(teams: tuple[str, ...] | None, hidden: tuple[str, ...]) -> Any:
    """One statement per (teams, private teams) set, so its compiled form is reused: every HTML
    page's header asks for these two values."""
    user_id = bindparam("h_user", type_=Integer)
    unread = (select(func.count()).select_from(_JOIN)
              .where(_mine_of(user_id, teams, hidden), T_USER_NOTE.c.read_at.is_(None)).scalar_subquery())
    prefs = select(T_USER.c.notify_prefs).where(T_USER.c.id == user_id).scalar_subquery()
    return select(unread, prefs)


async def header_state(user_id: int, *, conn: AsyncConnection, teams: Sequence[str] | None,
                       private: Iterable[str]) -> tuple[int, Prefs]:
    """The unread count (as :func:`unread_count`) and the preferences (as :func:`get_prefs`) in
    one statement: what every page's header shows."""
    return await conn.run_sync(header_state_sync, user_id, teams=teams, private=private)


def header_state_sync(c: Connection, user_id: int, *, teams: Sequence[str] | None,
                      private: Iterable[str]) -> tuple[int, Prefs]:
    key = tuple(teams) if teams is not None else None
    row = c.execute(_header_stmt(key, tuple(sorted(set(private)))), {"h_user": user_id}).one()
    return int(row[0]), Prefs.from_json(row[1])


async def mark_read(user_id: int, ids: Sequence[int], *, conn: AsyncConnection, now: datetime) -> list[int]:
    """Mark the user's own notifications ``ids`` read; returns the ids that are the user's."""
    if not ids:
        return []
    mine = [int(r[0]) for r in await conn.execute(
        select(T_USER_NOTE.c.id).where(T_USER_NOTE.c.user_id == user_id, T_USER_NOTE.c.id.in_(list(ids))))]
    if mine:
        await conn.execute(update(T_USER_NOTE).where(T_USER_NOTE.c.id.in_(mine), T_USER_NOTE.c.read_at.is_(None))
                           .values(read_at=now))
    return mine


_UNREAD_ABOUT = (select(T_USER_NOTE.c.id)
                 .where(T_USER_NOTE.c.user_id == bindparam("ua_user"), T_USER_NOTE.c.item_id == bindparam("ua_item"),
                        T_USER_NOTE.c.read_at.is_(None))
                 .order_by(T_USER_NOTE.c.id).limit(200))


async def unread_about(user_id: int, item_id: int, *, conn: AsyncConnection) -> list[int]:
    """The user's unread notifications about one item (a read of the user's range of
    ix_user_notification_user: every item page asks, so it writes nothing when there are none)."""
    return [int(r[0]) for r in await conn.execute(_UNREAD_ABOUT, {"ua_user": user_id, "ua_item": item_id})]


async def mark_all_read(user_id: int, *, conn: AsyncConnection, now: datetime) -> int:
    res = await conn.execute(update(T_USER_NOTE).where(T_USER_NOTE.c.user_id == user_id,
                                                       T_USER_NOTE.c.read_at.is_(None)).values(read_at=now))
    return int(res.rowcount or 0)


async def get_prefs(user_id: int, *, conn: AsyncConnection) -> Prefs:
    raw = (await conn.execute(select(T_USER.c.notify_prefs).where(T_USER.c.id == user_id))).scalar_one_or_none()
    return Prefs.from_json(raw)


async def set_prefs(user_id: int, prefs: Prefs, *, conn: AsyncConnection) -> None:
    await conn.execute(update(T_USER).where(T_USER.c.id == user_id).values(notify_prefs=prefs.to_json()))


async def max_id(*, conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.coalesce(func.max(T_USER_NOTE.c.id), 0)))).scalar_one())


async def newer_than(last_id: int, user_ids: Collection[int], *, conn: AsyncConnection,
                     limit: int = 500, also: Collection[int] = ()) -> list[dict[str, Any]]:
    """Notifications after ``last_id``, and those of the ids in ``also`` (for the live streams):
    id, user_id, kind, item_id."""
    after = T_USER_NOTE.c.id > last_id
    q = select(T_USER_NOTE.c.id, T_USER_NOTE.c.user_id, T_USER_NOTE.c.kind, T_USER_NOTE.c.item_id,
               T_USER_NOTE.c.actor).where(or_(after, T_USER_NOTE.c.id.in_(list(also))) if also else after)
    if user_ids:
        q = q.where(T_USER_NOTE.c.user_id.in_(list(user_ids)))
    return [dict(r) for r in (await conn.execute(q.order_by(T_USER_NOTE.c.id).limit(limit))).mappings()]


async def due_candidates(now: datetime, until: datetime, *, conn: AsyncConnection,
                         limit: int = 500) -> list[dict[str, Any]]:
    """Held open items (not paused) whose first response or resolution falls due in (now, until]:
    ``{id, assignee_id, team, watchers, sla, due}`` per item and SLA."""
    out: list[dict[str, Any]] = []
    for sla, due in (("first_response", T_ITEM.c.first_response_due), ("resolution", T_ITEM.c.resolve_due)):
        q = (select(T_ITEM.c.id, T_ITEM.c.assignee_id, T_ITEM.c.team, T_ITEM.c.watchers, due.label("due"))
             .where(T_ITEM.c.assignee_id.is_not(None), T_ITEM.c.status.in_(list(ItemStatus.OPEN)),
                    T_ITEM.c.sla_paused_at.is_(None), due > now, due <= until)
             .order_by(due).limit(limit))
        if sla == "first_response":  # as for breaches: only until someone first touched the item
            q = q.where(T_ITEM.c.first_touched_at.is_(None))
        out.extend({**dict(r), "sla": sla} for r in (await conn.execute(q)).mappings())
    return out
