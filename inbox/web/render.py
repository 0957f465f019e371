"""Rendering helpers shared by the HTML pages: the per-request locale, the template context
(user, CSRF token, navigation, flash messages), redirects and form reading."""
from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from yarl import URL

from inbox.domain.types import UserInfo
from inbox.errors import Invalid
from inbox.web import i18n, names, shortcuts
from inbox.web.csrf import csrf_token
from inbox.web.inputs import check_text, read_form
from inbox.web.keys import SERVICES, USER_KEY
from inbox.web.notify_api import header_state

__all__ = ["render", "redirect", "flash", "form", "set_locale", "current_user", "safe_next"]

MAX_FIELD = 10_000
# flash messages live in the session cookie as JSON (non-ASCII escaped: up to 12 bytes a character)
FLASH_KEPT = 3
FLASH_BYTES = 600


def safe_url(url: str | None) -> str | None:
    """Only http(s) links to the original post: never javascript:, data: or relative ones."""
    if not url or not isinstance(url, str):
        return None
    from urllib.parse import urlsplit
    try:
        p = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if p.scheme in ("http", "https") and p.netloc else None


def current_user(request: web.Request) -> UserInfo | None:
    return request.get(USER_KEY)


def set_locale(request: web.Request) -> str:
    user = current_user(request)
    loc = i18n.negotiate(user.locale if user else None, request.headers.get("Accept-Language"))
    i18n.use_locale(loc)
    return loc


async def flash(request: web.Request, message: str, kind: str = "info") -> None:
    """A message for the next page, kept in the session cookie: the last :data:`FLASH_KEPT`, each
    cut to :data:`FLASH_BYTES` of JSON (an error can quote what was typed, up to MAX_FIELD
    characters, and browsers drop a cookie past 4 KB, message and all)."""
    session = await get_session(request)
    session["flash"] = [*session.get("flash", [])[-(FLASH_KEPT - 1):], [kind, _cut(message, FLASH_BYTES)]]


def _cut(message: str, limit: int) -> str:
    """``message``, shortened with an ellipsis until its JSON form is at most ``limit`` bytes."""
    size = len(json.dumps(message))
    if size <= limit:
        return message
    keep = min(len(message), limit)
    while keep and (size := len(json.dumps(message[:keep] + "\u2026"))) > limit:
        keep -= max(1, (size - limit + 11) // 12)
    return message[:max(keep, 0)] + "\u2026"


async def context(request: web.Request, *, header: bool = True) -> dict[str, Any]:
    """What every template may use; ``header``: with the header's notification state and the flash
    messages, which only full pages (base.html) show: a fragment's live refresh neither reads the
    state nor uses up a message the next full page should show."""
    user = current_user(request)
    svc = request.app[SERVICES]
    session = await get_session(request)
    flashes = session.pop("flash", []) if header and "flash" in session else []
    nav_teams = []
    if user is not None:
        shown = [t.name for t in svc.settings.teams] if user.is_admin else list(user.teams)
        nav_teams = [t for t in svc.settings.teams if t.name in shown]
    loc = set_locale(request)
    keys = shortcuts.parse(user.shortcuts if user else None)
    state = (await header_state(request, user) if user is not None and header
             else {"notify_unread": 0, "notify_browser": False})
    # the formatting helpers and the names (i18n.jinja_helpers, names.helpers) are the environment's
    # globals (rows.install)
    return {**state, "user": user, "csrf": await csrf_token(request), "locale": loc,
            "status_labels": _status_labels(loc), "now": svc.clock.now(), "nav_teams": nav_teams, "flashes": flashes,
            "path": request.path, "locales": i18n.LOCALES, "safe_url": safe_url, "shortcuts": keys,
            "key_hint": keys.hint}


@lru_cache(maxsize=len(i18n.LOCALES))
def _status_labels(locale: str) -> Mapping[str, str]:
    """The status names in ``locale`` (the catalogues do not change while the process runs)."""
    return MappingProxyType({k: names.status_name(k) for k in names.STATUSES})


async def render(request: web.Request, template: str, ctx: dict[str, Any], status: int = 200) -> web.Response:
    full = await context(request, header=not template.rpartition("/")[2].startswith("_"))  # fragments: _*.html
    full.update(ctx)
    resp = aiohttp_jinja2.render_template(template, request, full, status=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def safe_next(value: str | None, default: str = "/queues") -> str:
    """Only a path of this site (no open redirect): never '//host', a scheme or a backslash, and
    no control character. Browsers drop tab, CR and LF from a URL, and so does the Location
    header aiohttp writes, so ``/<TAB>/evil.example`` would leave as ``//evil.example``; the
    value is also checked as it will be sent."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return default
    try:
        sent = str(URL(value))
    except ValueError:
        return default
    if not sent.startswith("/") or sent.startswith("//"):
        return default
    return value


async def form(request: web.Request) -> dict[str, str]:
    data = await read_form(request)
    out: dict[str, str] = {}
    for k in data:
        v = data.get(k)
        if isinstance(v, str):
            if len(v) > MAX_FIELD:
                raise Invalid(f"'{k}' is too long")
            try:
                out[k] = check_text(v)
            except ValueError as e:
                raise Invalid(f"'{k}' {e}") from None
    return out


async def form_lists(request: web.Request, key: str) -> list[str]:
    data = await read_form(request)
    return [v for v in data.getall(key, []) if isinstance(v, str)]
