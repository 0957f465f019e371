"""Teams, users, memberships, API tokens and login attempts."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.types import UserInfo
from inbox.storage.repo import control
from inbox.storage.repo._common import T_LOGIN, T_MEMBER, T_TEAM, T_TOKEN, T_USER, dialect_insert

__all__ = ["sync_teams", "list_teams", "add_user", "user_state", "get_user", "list_users", "add_token",
           "user_by_token", "revoke_tokens", "record_login", "recent_failures", "set_password",
           "set_user_fields", "auth_changed"]


async def auth_changed(conn: AsyncConnection, *, now: datetime, user_id: int | None = None) -> None:
    """Tell every instance (the control channel, heard once this transaction commits) that who a
    credential belongs to, or what ``user_id`` (None: anyone) may do, has changed: their credential
    caches forget it and open live streams re-check their user."""
    await control.publish(control.AUTH, {"user_id": user_id}, conn=conn, now=now)


async def sync_teams(teams: Sequence[Any], *, conn: AsyncConnection, now: datetime) -> None:
    """Create or update the configured teams (never deletes: items may still point at them)."""
    for t in teams:
        stmt = dialect_insert(conn, T_TEAM).values(name=t.name, display_name=t.display_name or t.name,
                                                   private=t.private, created_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["name"],
                                          set_={"display_name": stmt.excluded.display_name,
                                                "private": stmt.excluded.private})
        await conn.execute(stmt)


async def list_teams(*, conn: AsyncConnection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in await conn.execute(select(T_TEAM).order_by(T_TEAM.c.name))]


_TEAMS_OF_ONE = (select(T_MEMBER.c.user_id, T_MEMBER.c.team).where(T_MEMBER.c.user_id == bindparam("m_uid"))
                 .order_by(T_MEMBER.c.team))
_USER_BY = {col.key: select(T_USER).where(col == bindparam("u_key"), T_USER.c.active.is_(True))
            for col in (T_USER.c.id, T_USER.c.name)}
_TOKEN_USER = select(T_TOKEN.c.user_id).where(T_TOKEN.c.token_hash == bindparam("t_hash"),
                                              T_TOKEN.c.revoked_at.is_(None))


async def _teams_of(user_ids: Sequence[int], *, conn: AsyncConnection) -> dict[int, tuple[str, ...]]:
    return await conn.run_sync(_teams_of_sync, user_ids)


def _teams_of_sync(c: Connection, user_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {u: [] for u in user_ids}
    if len(user_ids) == 1:  # a sign-in or a credential lookup: a statement built once
        for uid, team in c.execute(_TEAMS_OF_ONE, {"m_uid": user_ids[0]}):
            out[uid].append(team)
    elif user_ids:
        q = select(T_MEMBER.c.user_id, T_MEMBER.c.team).where(T_MEMBER.c.user_id.in_(list(user_ids)))
        for uid, team in c.execute(q.order_by(T_MEMBER.c.team)):
            out[uid].append(team)
    return {k: tuple(v) for k, v in out.items()}


def _info(m: Any, teams: tuple[str, ...]) -> UserInfo:
    return UserInfo(id=m["id"], name=m["name"], role=m["role"], teams=teams, display_name=m["display_name"],
                    locale=m["locale"], capacity=m["capacity"], available=m["available"],
                    shortcuts=m.get("shortcuts"))


async def add_user(name: str, role: str, teams: Sequence[str], password_hash: str | None, *,
                   conn: AsyncConnection, now: datetime, display_name: str = "", locale: str | None = None,
                   capacity: int = 10) -> UserInfo:
    """Create the user, or update role, teams and (when given) password of an existing one, which
    is active again if it had been deactivated."""
    existing = (await conn.execute(select(T_USER.c.id).where(T_USER.c.name == name))).scalar()
    values: dict[str, Any] = {"role": role, "display_name": display_name or name, "locale": locale,
                              "capacity": capacity, "active": True}
    if password_hash is not None:
        values["password_hash"] = password_hash
    if existing is None:
        res = await conn.execute(T_USER.insert().values(name=name, created_at=now,
                                                        available=True, **values).returning(T_USER.c.id))
        uid = int(res.scalar_one())
    else:
        uid = int(existing)
        await conn.execute(update(T_USER).where(T_USER.c.id == uid).values(**values))
        await conn.execute(delete(T_MEMBER).where(T_MEMBER.c.user_id == uid))
        await auth_changed(conn, now=now, user_id=uid)
    if teams:
        await conn.execute(T_MEMBER.insert(), [{"user_id": uid, "team": t} for t in dict.fromkeys(teams)])
    user = await get_user(uid, conn=conn)
    assert user is not None
    return user


async def user_state(name: str, *, conn: AsyncConnection) -> dict[str, Any] | None:
    """Role, teams and whether active, of the user called ``name`` (active or not); None if none."""
    row = (await conn.execute(select(T_USER.c.id, T_USER.c.role, T_USER.c.active).where(T_USER.c.name == name))).first()
    if row is None:
        return None
    teams = [r[0] for r in await conn.execute(select(T_MEMBER.c.team).where(T_MEMBER.c.user_id == row.id)
                                              .order_by(T_MEMBER.c.team))]
    return {"role": row.role, "teams": teams, "active": bool(row.active)}


async def get_user(key: int | str, *, conn: AsyncConnection) -> UserInfo | None:
    row = (await conn.execute(_USER_BY["id" if isinstance(key, int) else "name"], {"u_key": key})).first()
    if row is None:
        return None
    m = row._mapping
    return _info(m, (await _teams_of([m["id"]], conn=conn))[m["id"]])


async def password_hash_of(name: str, *, conn: AsyncConnection) -> tuple[int, str | None] | None:
    row = (await conn.execute(select(T_USER.c.id, T_USER.c.password_hash)
                              .where(T_USER.c.name == name, T_USER.c.active.is_(True)))).first()
    return (int(row[0]), row[1]) if row else None


async def set_password(user_id: int, password_hash: str, *, conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(update(T_USER).where(T_USER.c.id == user_id).values(password_hash=password_hash))
    await auth_changed(conn, now=now, user_id=user_id)


async def set_user_fields(user_id: int, values: dict[str, Any], *, conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(update(T_USER).where(T_USER.c.id == user_id).values(**values))
    await auth_changed(conn, now=now, user_id=user_id)


async def list_users(*, conn: AsyncConnection, team: str | None = None) -> list[UserInfo]:
    return await conn.run_sync(list_users_sync, team)


def list_users_sync(c: Connection, team: str | None = None) -> list[UserInfo]:
    q = select(T_USER).where(T_USER.c.active.is_(True)).order_by(T_USER.c.name)
    if team is not None:
        q = q.where(T_USER.c.id.in_(select(T_MEMBER.c.user_id).where(T_MEMBER.c.team == team)))
    rows = [r._mapping for r in c.execute(q)]
    teams = _teams_of_sync(c, [r["id"] for r in rows])
    return [_info(r, teams[r["id"]]) for r in rows]


async def add_token(user_id: int, token_hash: str, *, conn: AsyncConnection, now: datetime, label: str = "") -> int:
    res = await conn.execute(T_TOKEN.insert().values(user_id=user_id, token_hash=token_hash, label=label,
                                                     created_at=now).returning(T_TOKEN.c.id))
    return int(res.scalar_one())


async def user_by_token(token_hash: str, *, conn: AsyncConnection) -> UserInfo | None:
    uid = (await conn.execute(_TOKEN_USER, {"t_hash": token_hash})).scalar()
    return None if uid is None else await get_user(int(uid), conn=conn)


async def revoke_tokens(user_id: int, *, conn: AsyncConnection, now: datetime) -> int:
    res = await conn.execute(update(T_TOKEN).where(T_TOKEN.c.user_id == user_id, T_TOKEN.c.revoked_at.is_(None))
                             .values(revoked_at=now))
    await auth_changed(conn, now=now, user_id=user_id)
    return int(res.rowcount or 0)


async def record_login(name: str, ok: bool, *, conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(T_LOGIN.insert().values(name=name, ok=ok, created_at=now))


async def recent_failures(name: str, since: datetime, *, conn: AsyncConnection) -> int:
    q = select(func.count()).select_from(T_LOGIN).where(T_LOGIN.c.name == name, T_LOGIN.c.ok.is_(False),
                                                        T_LOGIN.c.created_at >= since)
    return int((await conn.execute(q)).scalar_one())
