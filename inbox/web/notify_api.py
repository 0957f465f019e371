"""The notifications API for people: GET /api/v1/notifications (newest first, only items the
caller may see, with the unread count), POST .../read and .../read-all, GET and PUT
.../settings (the kinds the caller is told about, and browser pop-ups on or off)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

import structlog
from aiohttp import web
from pydantic import ConfigDict, Field
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from inbox.domain import people_notify as pn
from inbox.domain.types import UserInfo
from inbox.errors import NotFound
from inbox.storage.engine import read_conn
from inbox.storage.repo import people_notify as repo
from inbox.storage.repo.pubsub import notify_read_pg
from inbox.web.api_models import EmptyBody
from inbox.web.endpoints import ApiRoutes
from inbox.web.keys import BUS, HEADER_STATE, SERVICES
from inbox.web.models import Body, ItemId, Out, Params, QueryInt, Timestamp
from inbox.web.notify_live import tell_unread
from inbox.web.notify_text import describe
from inbox.web.page_conn import page_conn
from inbox.work.item_actions import visible_teams

__all__ = ["api", "notifications_of", "mark_ids", "prefs_of", "save_prefs",
           "header_state"]

api = ApiRoutes("notifications")
log = structlog.get_logger(__name__)

Kind = Literal["assigned", "mentioned", "sla_due", "reply_failed", "approval"]
assert set(Kind.__args__) == set(pn.KINDS)  # type: ignore[attr-defined]  # Literal's members


class ListQuery(Params):
    limit: QueryInt = Field(50, ge=1, le=200)
    before: ItemId | None = Field(None, description="next_before of the previous page")
    unread: bool = Field(False, description="only unread ones")


class Notice(Out):
    id: int
    kind: Kind
    item_id: int
    team: str
    actor: str | None = None
    text: str = Field(description="what happened, in the caller's language")
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: Timestamp
    read: bool


class NoticePage(Out):
    unread: int
    notifications: list[Notice]
    next_before: int | None = None


class ReadBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ids": [1]}]})
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=500)


class ReadResult(Out):
    marked: int
    unread: int


class NotifySettings(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"kinds": ["assigned", "mentioned"], "browser": True}]})
    kinds: list[Kind] = Field(default_factory=lambda: list(Kind.__args__),  # type: ignore[attr-defined]
                              max_length=len(pn.KINDS))
    browser: bool = False


class SettingsOut(Out):
    kinds: list[Kind]
    browser: bool


def _private(request: web.Request) -> set[str]:
    return set(request.app[SERVICES].settings.private_teams)


async def notifications_of(request: web.Request, user: UserInfo, *, limit: int = 50, before: int | None = None,
                           unread: bool = False) -> tuple[list[dict[str, Any]], int]:
    """The user's notifications (with ``text``) and unread count, only about items they may see."""
    svc = request.app[SERVICES]
    async with read_conn(svc.engine) as conn:
        rows = await repo.list_for(user.id, conn=conn, teams=visible_teams(user), private=_private(request),
                                   limit=limit, before=before, unread=unread)
        count = await repo.unread_count(user.id, conn=conn, teams=visible_teams(user), private=_private(request))
    return [{**r, "text": describe(r), "read": r["read_at"] is not None} for r in rows], count


@api.get("/api/v1/notifications", summary="Your notifications, newest first, and how many are unread",
         query=ListQuery, response=NoticePage)
async def list_notifications(request: web.Request, *, user: UserInfo, query: ListQuery) -> NoticePage:
    rows, count = await notifications_of(request, user, limit=query.limit, before=query.before, unread=query.unread)
    return NoticePage(unread=count, notifications=[Notice(**{**r, "data": r["data"] or {}}) for r in rows],
                      next_before=rows[-1]["id"] if len(rows) == query.limit else None)


async def mark_ids(request: web.Request, user: UserInfo, ids: list[int] | None) -> ReadResult:
    """Mark the user's notifications ``ids`` (None: all) read; NotFound when one is not theirs."""
    svc = request.app[SERVICES]
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        if ids is None:
            marked = await repo.mark_all_read(user.id, conn=conn, now=now)
        else:
            mine = await repo.mark_read(user.id, ids, conn=conn, now=now)
            missing = sorted(set(ids) - set(mine))
            if missing:
                raise NotFound(f"no notification {missing[0]}")  # the whole request is rolled back
            marked = len(mine)
        unread = await repo.unread_count(user.id, conn=conn, teams=visible_teams(user), private=_private(request))
        # the user's other tabs: bell and title follow; on PostgreSQL those on every instance (this
        # one included) hear it through LISTEN, on SQLite (one process) straight from here
        if marked:
            await notify_read_pg(conn, user.id, unread)
        pg = conn.dialect.name == "postgresql"
    if marked and not pg and BUS in request.app:
        tell_unread(request.app[BUS], user.id, unread)
    return ReadResult(marked=marked, unread=unread)


@api.post("/api/v1/notifications/read", summary="Mark some of your notifications read",
          body=ReadBody, response=ReadResult, errors=(404,))
async def mark_read(request: web.Request, *, user: UserInfo, body: ReadBody) -> ReadResult:
    return await mark_ids(request, user, body.ids)


@api.post("/api/v1/notifications/read-all", summary="Mark all your notifications read",
          body=EmptyBody, response=ReadResult)
async def mark_all_read(request: web.Request, *, user: UserInfo, body: EmptyBody) -> ReadResult:
    return await mark_ids(request, user, None)


def header_reads(c: Connection, request: web.Request, user: UserInfo) -> tuple[int, pn.Prefs]:
    """The header's state read inside a page's read unit (``svc.reads.run``); the page hands it to
    :func:`keep_header`. ``request`` is only read for the settings."""
    return repo.header_state_sync(c, user.id, teams=visible_teams(user), private=_private(request))


def keep_header(request: web.Request, state: tuple[int, pn.Prefs]) -> None:
    """The header state a page read with its own reads, for :func:`header_state`."""
    request[HEADER_STATE] = {"notify_unread": state[0], "notify_browser": state[1].browser}


async def header_state(request: web.Request, user: UserInfo) -> dict[str, Any]:
    """What every page's header needs: the unread count and whether browser pop-ups are on. With
    the database away (an error page is being shown) the header shows no count rather than fail."""
    kept: dict[str, Any] | None = request.get(HEADER_STATE)
    if kept is not None:
        return kept
    try:
        async with page_conn(request) as conn:
            unread, prefs = await repo.header_state(user.id, conn=conn, teams=visible_teams(user),
                                                    private=_private(request))
        return {"notify_unread": unread, "notify_browser": prefs.browser}
    except (SQLAlchemyError, OSError) as e:
        log.warning("notify_header_unavailable", user=user.name, error=type(e).__name__)
        return {"notify_unread": 0, "notify_browser": False}


async def prefs_of(request: web.Request, user: UserInfo) -> pn.Prefs:
    async with read_conn(request.app[SERVICES].engine) as conn:
        return await repo.get_prefs(user.id, conn=conn)


async def save_prefs(request: web.Request, user: UserInfo, prefs: pn.Prefs) -> None:
    async with request.app[SERVICES].engine.begin() as conn:
        await repo.set_prefs(user.id, prefs, conn=conn)


@api.get("/api/v1/notifications/settings", summary="Which notifications you get, and browser pop-ups",
         response=SettingsOut)
async def get_settings(request: web.Request, *, user: UserInfo) -> SettingsOut:
    return SettingsOut(**(await prefs_of(request, user)).as_dict())


@api.put("/api/v1/notifications/settings", summary="Choose which notifications you get, and browser pop-ups",
         body=NotifySettings, response=SettingsOut)
async def put_settings(request: web.Request, *, user: UserInfo, body: NotifySettings) -> SettingsOut:
    prefs = pn.Prefs(frozenset(body.kinds), body.browser)
    await save_prefs(request, user, prefs)
    return SettingsOut(**prefs.as_dict())
