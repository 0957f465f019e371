"""The aiohttp application factory. Nothing is read or opened at import time: ``create_app`` wires
routes and middlewares; each resource is opened and closed by one cleanup-context owner."""
from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import structlog
from aiohttp import web

from inbox.domain.clock import Clock
from inbox.ops.control import AUTH
from inbox.ops.gc_tuning import freeze_startup_objects
from inbox.ops.services import Services
from inbox.settings import Settings
from inbox.web import openapi
from inbox.web.authcache import AuthCache
from inbox.web.authn import auth_middleware
from inbox.web.counts import COUNTS, CountsCache
from inbox.web.forwarded import forwarded_middleware, parse_networks
from inbox.web.keys import AUTH_CACHE, REPLIES, ROLE, SCHEDULER, SERVICES, WORK
from inbox.web.problems import problem_middleware
from inbox.work.item_actions import WorkService
from inbox.work.replies import ReplyService

__all__ = ["create_app"]

log = structlog.get_logger(__name__)


_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"),
}


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set on every response as it is prepared, streamed ones included (the /live event stream sends its
    headers from inside the handler, before any middleware could add them); a handler's own value wins."""
    h = response.headers
    for name, value in _SECURITY_HEADERS.items():
        h.setdefault(name, value)


def create_app(settings: Settings, *, role: str = "all", clock: Clock | None = None,
               services: Services | None = None) -> web.Application:
    """The web app, API and (for role all/worker) the connector scheduler."""
    middlewares: list[Any] = [problem_middleware]
    if settings.server.trusted_proxies:  # first: every other layer sees the client's scheme, host, address
        middlewares.insert(0, forwarded_middleware(parse_networks(settings.server.trusted_proxies)))
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.on_response_prepare.append(security_headers)
    app[ROLE] = role
    app[AUTH_CACHE] = AuthCache()

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        svc = services or await Services.open(settings, clock=clock)
        app[SERVICES] = svc
        if services is None or svc.classifier is None:  # an injected model (tests) is kept
            await svc.load_model()
        await svc.ready_pipeline()
        if svc.control is None:
            await svc.start_background()  # the control channel: every role hears promotions and access changes
        assert svc.control is not None
        svc.control.on(AUTH, lambda _msg: app[AUTH_CACHE].clear())  # a credential or a user's access changed
        app[WORK] = WorkService(svc.engine, svc.settings, svc.clock, owner=svc.owner, publish=svc._publish)
        svc.settings_listeners.append(lambda s: setattr(app[WORK], "settings", s))  # edited live (admin API)
        # with a scheduler here, a queued reply starts its sender at once instead of at the next tick
        kick = svc.ready_reply_sender().kick if role in ("all", "worker") else None
        app[REPLIES] = ReplyService(svc.engine, svc.settings, svc.clock, publish=svc._publish, kick=kick)
        svc.settings_listeners.append(lambda s: setattr(app[REPLIES], "settings", s))
        yield
        if services is None:
            await svc.close()

    async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
        sched = None
        if role in ("all", "worker"):
            from inbox.ops.scheduler import start_scheduler
            from inbox.web.brief_mail import send_due
            svc = app[SERVICES]
            briefs = [("send_briefs", svc.settings.digest.check_every.total_seconds(), partial(send_due, svc))]
            sched = await start_scheduler(svc, app[WORK], briefs if svc.settings.digest.enabled else [])
        app[SCHEDULER] = sched
        yield
        if sched is not None:
            await sched.stop()

    app.cleanup_ctx.append(services_ctx)
    pages = role in ("all", "web")  # the HTML app (templates, sessions, live updates): inbox.web.ui
    if pages:
        from inbox.web import ui
        middlewares.extend(ui.middlewares(settings))
    middlewares.append(auth_middleware)
    for m in middlewares:
        app.middlewares.append(m)
    # on the service's clock, so that tests move it with their fake clock
    app[COUNTS] = CountsCache(clock=lambda: app[SERVICES].clock.now().timestamp())
    declared_routes = openapi.api_routes()  # every module of openapi.API_MODULES
    every_path = [ep.path for declared in declared_routes for ep in declared]
    for declared in declared_routes:
        declared.register(app, every_path)
    if pages:
        ui.setup(app, settings)
    app.cleanup_ctx.append(scheduler_ctx)

    async def freeze_gc(_app: web.Application) -> None:
        # runs after the contexts above have started (model loaded, caches built): see inbox.ops.gc_tuning
        freeze_startup_objects()
    app.on_startup.append(freeze_gc)
    return app
