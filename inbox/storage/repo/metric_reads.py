"""Reads for the manager's metrics. Every query is bounded by an indexed column: the period by
queue_item.created_at (ix_queue_item_created_at), the backlog by status (ix_queue_item_status_created),
corrections by correction.created_at, crises by crisis.opened_at, notifications by created_at; joins
go through primary keys. ``statements()`` lists them so a test can EXPLAIN each one."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.repo._common import T_CORR, T_CRISIS, T_EVENT, T_ITEM, T_MENTION, T_NOTIF
from inbox.storage.tables import ItemStatus

__all__ = ["volume", "durations", "sla_counts", "backlog", "transfers_by_label", "accuracy", "corrected_pairs",
           "corrections_since",
           "crises_since", "notification_counts", "statements", "items_since", "open_backlog"]

_OPEN = list(ItemStatus.OPEN)
_NONE: Any = literal_column("'none'")  # literal SQL, not a parameter: GROUP BY must repeat the same expression


def _n(cond: Any) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _day(conn: AsyncConnection) -> Any:
    col = T_ITEM.c.created_at
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), col), literal_column("'YYYY-MM-DD'"))
    return func.substr(func.cast(col, T_MENTION.c.text.type), 1, 10)


def _q_volume(conn: AsyncConnection, since: datetime, until: datetime, team: str | None) -> Any:
    q = (select(T_ITEM.c.team, T_MENTION.c.source, func.coalesce(T_ITEM.c.label, _NONE).label("label"),
                _day(conn).label("day"), func.count().label("n"))
         .select_from(T_ITEM.join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id))
         .where(T_ITEM.c.created_at >= since, T_ITEM.c.created_at < until)
         .group_by(T_ITEM.c.team, T_MENTION.c.source, func.coalesce(T_ITEM.c.label, _NONE), _day(conn)))
    return q.where(T_ITEM.c.team == team) if team else q


async def volume(since: datetime, until: datetime, *, conn: AsyncConnection, team: str | None = None
                 ) -> list[dict[str, Any]]:
    """Item counts per (team, source, label, UTC day) created in [since, until)."""
    return [dict(r._mapping) for r in await conn.execute(_q_volume(conn, since, until, team))]


def _q_durations(since: datetime, until: datetime, team: str | None) -> Any:
    q = (select(T_ITEM.c.team, T_ITEM.c.created_at, T_ITEM.c.first_touched_at, T_ITEM.c.resolved_at)
         .where(T_ITEM.c.created_at >= since, T_ITEM.c.created_at < until,
                or_(T_ITEM.c.first_touched_at.is_not(None), T_ITEM.c.resolved_at.is_not(None))))
    return q.where(T_ITEM.c.team == team) if team else q


async def durations(since: datetime, until: datetime, *, conn: AsyncConnection, team: str | None = None
                    ) -> list[dict[str, Any]]:
    """(team, created, first touched, resolved) of the period's items touched or resolved."""
    return [dict(r._mapping) for r in await conn.execute(_q_durations(since, until, team))]


def _q_sla(since: datetime, until: datetime, now: datetime, team: str | None) -> Any:
    touched, frd = T_ITEM.c.first_touched_at, T_ITEM.c.first_response_due
    resolved, rd = T_ITEM.c.resolved_at, T_ITEM.c.resolve_due
    q = (select(T_ITEM.c.team,
                _n(and_(frd.is_not(None), touched.is_not(None), touched <= frd)).label("fr_met"),
                _n(and_(frd.is_not(None), or_(touched > frd, and_(touched.is_(None), frd < now)))).label("fr_missed"),
                _n(and_(rd.is_not(None), resolved.is_not(None), resolved <= rd)).label("res_met"),
                _n(and_(rd.is_not(None), or_(resolved > rd, and_(resolved.is_(None), rd < now,
                                                                 T_ITEM.c.sla_paused_at.is_(None))))).label("res_missed"),
                _n(T_ITEM.c.breached_first_response.is_(True)).label("fr_breaches"),
                _n(T_ITEM.c.breached_resolution.is_(True)).label("res_breaches"))
         .where(T_ITEM.c.created_at >= since, T_ITEM.c.created_at < until, T_ITEM.c.status != ItemStatus.SPAM)
         .group_by(T_ITEM.c.team))
    return q.where(T_ITEM.c.team == team) if team else q


async def sla_counts(since: datetime, until: datetime, now: datetime, *, conn: AsyncConnection,
                     team: str | None = None) -> dict[str, dict[str, int]]:
    out = {}
    for r in await conn.execute(_q_sla(since, until, now, team)):
        m = r._mapping
        out[m["team"]] = {k: int(m[k] or 0) for k in ("fr_met", "fr_missed", "res_met", "res_missed",
                                                      "fr_breaches", "res_breaches")}
    return out


def _q_backlog(now: datetime, team: str | None) -> Any:
    c = T_ITEM.c.created_at
    q = (select(T_ITEM.c.team, func.count().label("open"), _n(T_ITEM.c.status == ItemStatus.NEW).label("new"),
                _n(T_ITEM.c.status == ItemStatus.WAITING).label("waiting"),
                func.min(c).label("oldest"),
                _n(c < now - timedelta(hours=1)).label("older_1h"), _n(c < now - timedelta(days=1)).label("older_1d"),
                _n(c < now - timedelta(days=7)).label("older_7d"),
                _n(and_(T_ITEM.c.first_touched_at.is_(None), T_ITEM.c.first_response_due < now)).label("overdue"))
         .where(T_ITEM.c.status.in_(_OPEN)).group_by(T_ITEM.c.team))
    return q.where(T_ITEM.c.team == team) if team else q


async def backlog(now: datetime, *, conn: AsyncConnection, team: str | None = None) -> list[dict[str, Any]]:
    """Open items per team: size, unclaimed, waiting, oldest, age buckets, overdue first response."""
    return [dict(r._mapping) for r in await conn.execute(_q_backlog(now, team))]


def _q_transfers(since: datetime, until: datetime, team: str | None) -> Any:
    q = (select(func.coalesce(T_ITEM.c.label, _NONE).label("label"), func.count().label("items"),
                _n(T_ITEM.c.transfers > 0).label("transferred"), func.sum(T_ITEM.c.transfers).label("transfers"),
                func.sum(T_ITEM.c.bounces).label("bounces"))
         .where(T_ITEM.c.created_at >= since, T_ITEM.c.created_at < until)
         .group_by(func.coalesce(T_ITEM.c.label, _NONE)))
    return q.where(T_ITEM.c.team == team) if team else q


async def transfers_by_label(since: datetime, until: datetime, *, conn: AsyncConnection, team: str | None = None
                             ) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in await conn.execute(_q_transfers(since, until, team))]


def _changed_label() -> Any:
    """A correction that gave another label than the model's (not a lead's confirmation)."""
    return or_(T_CORR.c.predicted_label.is_(None), T_CORR.c.label != T_CORR.c.predicted_label)


def _judged() -> Any:
    """An item is judged when an agent worked it to an outcome (so kept the model's team), moved it,
    or a lead confirmed or corrected its label ("help the model": a correction row, maybe the same label)."""
    return or_(T_ITEM.c.status.in_([ItemStatus.REPLIED, ItemStatus.WAITING, ItemStatus.RESOLVED]),
               T_ITEM.c.transfers > 0, exists().where(T_CORR.c.mention_id == T_ITEM.c.id))


def _q_accuracy(since: datetime, until: datetime, team: str | None) -> Any:
    corrected = exists().where(T_CORR.c.mention_id == T_ITEM.c.id, _changed_label())
    q = (select(T_ITEM.c.label, func.count().label("judged"), _n(corrected).label("corrected"))
         .where(T_ITEM.c.created_at >= since, T_ITEM.c.created_at < until, T_ITEM.c.label.is_not(None),
                T_ITEM.c.confidence.is_not(None), _judged())
         .group_by(T_ITEM.c.label))
    return q.where(T_ITEM.c.team == team) if team else q


def _q_corrected_pairs(since: datetime, until: datetime, team: str | None) -> Any:
    """The corrected items of :func:`accuracy` by (model's label, corrected label)."""
    n = func.count(func.distinct(T_ITEM.c.id)).label("n")
    q = (select(T_ITEM.c.label.label("predicted_label"), T_CORR.c.label, n)
         .select_from(T_ITEM.join(T_CORR, T_CORR.c.mention_id == T_ITEM.c.id))
         .where(T_ITEM.c.created_at >= since, T_ITEM.c.created_at < until, T_ITEM.c.label.is_not(None),
                T_ITEM.c.confidence.is_not(None), _changed_label())
         .group_by(T_ITEM.c.label, T_CORR.c.label))
    return q.where(T_ITEM.c.team == team) if team else q


async def corrected_pairs(since: datetime, until: datetime, *, conn: AsyncConnection, team: str | None = None
                          ) -> list[dict[str, Any]]:
    """Items created in [since, until) that agents corrected, per (model's label, corrected label):
    the same items as :func:`accuracy`'s ``corrected``, so the two never disagree."""
    return [dict(r._mapping) for r in await conn.execute(_q_corrected_pairs(since, until, team))]


async def accuracy(since: datetime, until: datetime, *, conn: AsyncConnection, team: str | None = None
                   ) -> list[dict[str, Any]]:
    """Per predicted label: items judged by agents and how many of them were corrected."""
    return [dict(r._mapping) for r in await conn.execute(_q_accuracy(since, until, team))]


def _q_corrections(since: datetime, until: datetime | None = None) -> Any:
    q = (select(T_CORR.c.predicted_label, T_CORR.c.label, func.count().label("n"))
         .where(T_CORR.c.created_at >= since).group_by(T_CORR.c.predicted_label, T_CORR.c.label))
    return q.where(T_CORR.c.created_at < until) if until is not None else q


async def corrections_since(since: datetime, *, conn: AsyncConnection, until: datetime | None = None
                            ) -> list[dict[str, Any]]:
    """Corrections per (predicted, corrected) label made since ``since`` (and before ``until``)."""
    return [dict(r._mapping) for r in await conn.execute(_q_corrections(since, until))]


def _q_crises(since: datetime, until: datetime | None = None) -> Any:
    q = (select(T_CRISIS.c.id, T_CRISIS.c.kind, T_CRISIS.c.subject, T_CRISIS.c.status, T_CRISIS.c.count,
                T_CRISIS.c.threshold, T_CRISIS.c.opened_at, T_CRISIS.c.closed_at, T_CRISIS.c.item_id)
         .where(T_CRISIS.c.opened_at >= since).order_by(T_CRISIS.c.opened_at.desc()).limit(50))
    return q.where(T_CRISIS.c.opened_at < until) if until is not None else q


async def crises_since(since: datetime, *, conn: AsyncConnection, until: datetime | None = None
                       ) -> list[dict[str, Any]]:
    """Crises opened since ``since`` (and before ``until``), newest first."""
    return [dict(r._mapping) for r in await conn.execute(_q_crises(since, until))]


def _q_open_crises() -> Any:
    return select(func.count()).select_from(T_CRISIS).where(T_CRISIS.c.status == "open")


def _q_notifications(since: datetime) -> Any:
    return (select(T_NOTIF.c.kind, T_NOTIF.c.status, func.count().label("n"))
            .where(T_NOTIF.c.created_at >= since).group_by(T_NOTIF.c.kind, T_NOTIF.c.status))


async def notification_counts(since: datetime, *, conn: AsyncConnection) -> dict[str, Any]:
    out: dict[str, dict[str, int]] = {}
    for kind, status, n in await conn.execute(_q_notifications(since)):
        out.setdefault(kind, {})[status] = int(n)
    open_now = int((await conn.execute(_q_open_crises())).scalar_one())
    return {"by_kind": out, "open_crises": open_now}


def _q_rerouted(since: datetime, until: datetime, team: str | None) -> Any:
    """Items the background refiner moved, by the team it moved them to (the event index's range)."""
    q = (select(T_EVENT.c.team, func.count().label("n"))
         .where(T_EVENT.c.kind == "rerouted", T_EVENT.c.created_at >= since, T_EVENT.c.created_at < until)
         .group_by(T_EVENT.c.team))
    return q.where(T_EVENT.c.team == team) if team is not None else q


async def rerouted(
    since: datetime, until: datetime, *, conn: AsyncConnection, team: str | None = None
) -> dict[str, int]:
    return {str(t): int(n) for t, n in await conn.execute(_q_rerouted(since, until, team))}


def statements(conn: AsyncConnection, since: datetime, until: datetime, now: datetime,
               team: str | None = None) -> dict[str, Any]:
    """Every metrics query, by name, for EXPLAIN in tests."""
    return {"volume": _q_volume(conn, since, until, team), "durations": _q_durations(since, until, team),
            "sla": _q_sla(since, until, now, team), "backlog": _q_backlog(now, team),
            "transfers": _q_transfers(since, until, team), "accuracy": _q_accuracy(since, until, team),
            "corrected_pairs": _q_corrected_pairs(since, until, team), "corrections": _q_corrections(since),
            "crises": _q_crises(since), "open_crises": _q_open_crises(),
            "notifications": _q_notifications(since), "rerouted": _q_rerouted(since, until, team)}


# kept for callers of the first version -------------------------------------------------------
async def items_since(since: datetime, *, conn: AsyncConnection, team: str | None = None) -> list[dict[str, Any]]:
    q = (select(T_ITEM.c.id, T_ITEM.c.team, T_ITEM.c.status, T_ITEM.c.label, T_ITEM.c.priority,
                T_ITEM.c.created_at, T_ITEM.c.first_touched_at, T_ITEM.c.resolved_at, T_ITEM.c.first_response_due,
                T_ITEM.c.resolve_due, T_ITEM.c.transfers, T_ITEM.c.bounces, T_ITEM.c.breached_first_response,
                T_ITEM.c.breached_resolution, T_MENTION.c.source)
         .join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
         .where(T_ITEM.c.created_at >= since))
    if team is not None:
        q = q.where(T_ITEM.c.team == team)
    return [dict(r._mapping) for r in await conn.execute(q)]


async def open_backlog(*, conn: AsyncConnection, team: str | None = None) -> list[dict[str, Any]]:
    q = (select(T_ITEM.c.team, func.count().label("n"), func.min(T_ITEM.c.created_at).label("oldest"))
         .where(T_ITEM.c.status.in_(_OPEN)).group_by(T_ITEM.c.team))
    if team is not None:
        q = q.where(T_ITEM.c.team == team)
    return [dict(r._mapping) for r in await conn.execute(q)]
