"""The HTML application: sessions, CSRF, templates (Jinja2, autoescaped), static files, the
agent/HR pages, the manager's dashboard, the admin pages and live updates. ``create_app`` calls
``middlewares(settings)`` and ``setup(app, settings)`` when this module is present."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware

from inbox.errors import DomainError
from inbox.settings import Settings
from inbox.web import (
    admin,
    admin_briefs,
    admin_config_pages,
    bulk_pages,
    dashboard,
    handover_pages,
    i18n,
    live,
    model_help_page,
    notify_page,
    pages,
    preferences,
    reply_pages,
    reports,
    rows,
    saved_views_pages,
    search_page,
    views_page,
)
from inbox.web.csrf import csrf_middleware
from inbox.web.error_text import translate_error
from inbox.web.keys import BUS, SERVICES, USER_KEY
from inbox.web.render import render, safe_next, set_locale
from inbox.web.sessions import make_storage

__all__ = ["middlewares", "setup"]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"


N_ = i18n.N_

_TITLES = {400: N_("Bad request"), 401: N_("Sign-in required"), 403: N_("Forbidden"), 404: N_("Not found"),
           405: N_("Not allowed"), 409: N_("Conflict"), 413: N_("Too large"), 422: N_("Invalid input"),
           429: N_("Too many requests"), 500: N_("Something went wrong"), 503: N_("Unavailable")}


def _is_html(request: web.Request) -> bool:
    return not request.path.startswith(("/api/", "/static/"))


@web.middleware
async def html_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Errors of the HTML pages as pages: sign-in redirect for 401, a short page otherwise.
    The message shown is the domain's (which never names a forbidden item's content)."""
    resp: web.StreamResponse
    if not _is_html(request):
        resp = await handler(request)
        return resp
    try:
        resp = await handler(request)
        return resp
    except DomainError as e:
        if e.status == 403 and request.method == "POST" and request.get(USER_KEY) is None \
                and e.detail.startswith("missing or invalid CSRF token") and request.headers.get("Referer"):
            # a page's form whose session has ended: sign in again, then back to the page
            from urllib.parse import quote
            raise web.HTTPSeeOther("/login?next=" + quote(_same_site_referer(request), safe="/?=&")) from None
        return await _error_page(request, e.status, e.detail)
    except web.HTTPException as e:
        if e.status == 401 and request.path != "/live":
            from urllib.parse import quote
            # a form sent after the session ended: back to sign-in, then to the page it came from,
            # where the script restores what was typed (textarea[data-draft])
            back = request.path_qs if request.method == "GET" else _same_site_referer(request)
            raise web.HTTPSeeOther("/login?next=" + quote(back, safe="/?=&")) from None
        if e.status < 400:
            raise
        detail = e.text if e.text and not e.text.startswith(f"{e.status}:") else ""
        return await _error_page(request, e.status, detail)


def _same_site_referer(request: web.Request) -> str:
    from urllib.parse import urlsplit
    ref = urlsplit(request.headers.get("Referer", ""))
    if ref.netloc and ref.netloc != request.host:
        return "/"
    return safe_next(ref.path + (f"?{ref.query}" if ref.query else ""), "/")


async def _error_page(request: web.Request, status: int, detail: str) -> web.Response:
    set_locale(request)
    title = i18n.gettext(_TITLES.get(status, N_("Error")))
    return await render(request, "error.html", {"status": status, "title": title,
                                               "detail": translate_error(detail) if detail else ""}, status=status)


@web.middleware
async def locale_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Innermost (after authentication): the page's language from the user or the browser."""
    if _is_html(request):
        set_locale(request)
    resp: web.StreamResponse = await handler(request)
    return resp


def middlewares(settings: Settings) -> list[Any]:
    return [session_middleware(make_storage(settings)), html_errors, csrf_middleware]


@lru_cache(maxsize=64)
def _static_url(name: str) -> str:
    # once per process, like the templates (auto_reload off): a deploy restarts the server
    p = STATIC / name
    v = int(p.stat().st_mtime) if p.exists() else 0
    return f"/static/{name}?v={v}"


def setup(app: web.Application, settings: Settings) -> None:
    env = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
        extensions=["jinja2.ext.i18n"], auto_reload=False)  # no stat() of every template per page
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["_"] = i18n.template_gettext  # the same strings as the extension's _(), cheaper
    env.globals["static"] = _static_url
    rows.install(env, lambda: app[SERVICES].settings)  # the configuration in force, which an admin may edit
    app.middlewares.append(locale_middleware)
    app.router.add_routes(pages.routes)
    app.router.add_routes(reply_pages.routes)
    app.router.add_routes(dashboard.routes)
    app.router.add_routes(admin.routes)
    app.router.add_routes(admin_config_pages.routes)
    app.router.add_routes(reports.routes)
    app.router.add_routes(model_help_page.routes)
    app.router.add_routes(admin_briefs.routes)
    app.router.add_routes(preferences.routes)
    app.router.add_routes(search_page.routes)
    app.router.add_routes(handover_pages.routes)
    app.router.add_routes(views_page.routes)
    app.router.add_routes(notify_page.routes)
    app.router.add_routes(saved_views_pages.routes)
    app.router.add_routes(bulk_pages.routes)
    app.router.add_get("/live", live.sse_handler)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.cleanup_ctx.append(live.live_ctx)

    async def end_streams(app: web.Application) -> None:
        broker = cast("live.Broker | None", app.get(BUS))
        if broker is not None:
            await broker.shutdown()
    app.on_shutdown.append(end_streams)
