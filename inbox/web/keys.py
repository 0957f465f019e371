"""Typed application and request keys: every app- or request-scoped object is declared here."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.domain.types import UserInfo
from inbox.ops.services import Services
from inbox.web.authcache import AuthCache
from inbox.work.item_actions import WorkService
from inbox.work.replies import ReplyService

SERVICES = web.AppKey("services", Services)
WORK = web.AppKey("work", WorkService)
BUS = web.AppKey("bus", Any)  # inbox.web.live.Broker
SCHEDULER: web.AppKey[Any] = web.AppKey("scheduler")
ROLE = web.AppKey("role", str)
AUTH_CACHE = web.AppKey("auth_cache", AuthCache)  # who a token or session belongs to, briefly
REPLIES = web.AppKey("replies", ReplyService)

#: who is calling (set by inbox.web.authn.auth_middleware; None: nobody signed in)
USER_KEY: web.RequestKey[UserInfo | None] = web.RequestKey("user")
#: what authenticated the request, for re-checking later (open live streams): ("bearer", token
#: hash) or ("session", session token, user id)
CREDENTIAL: web.RequestKey[tuple[str, ...]] = web.RequestKey("credential")
#: the HTML page's read connection while its handler holds it open (inbox.web.page_conn)
PAGE_CONN: web.RequestKey[AsyncConnection] = web.RequestKey("page_conn", AsyncConnection)
#: the header's notification state when the page read it with its own reads (inbox.web.notify_api)
HEADER_STATE: web.RequestKey[dict[str, Any]] = web.RequestKey("header_state")
