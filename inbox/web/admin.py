"""Admin pages: users (create, set role, teams, password, language; deactivate), teams with their
members and SLAs, connectors with their health and last error, routing rules (read-only view of
the configuration), model versions with their evaluation and a gated promote that swaps the live
model without a restart."""
from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from connectors.replies import reply_health
from inbox.domain import credentials
from inbox.domain.types import ROLES, UserInfo
from inbox.errors import Forbidden, Invalid, NotFound
from inbox.ops import audit, model_lifecycle
from inbox.ops.services import Services
from inbox.storage.engine import reader
from inbox.storage.repo import accounts, connector_state, model_versions
from inbox.web import i18n
from inbox.web.admin_config_pages import editor_context
from inbox.web.authcache import forget_all
from inbox.web.authn import require_user
from inbox.web.error_text import translate_error
from inbox.web.keys import SERVICES
from inbox.web.render import flash, form, form_lists, redirect, render
from inbox.web.user_form import UserForm, read_user_form, values_of

__all__ = ["routes", "require_admin", "admin_read"]

T = TypeVar("T")

routes = web.RouteTableDef()
_ = i18n.gettext


def require_admin(request: web.Request) -> UserInfo:
    user = require_user(request)
    if not user.is_admin:
        raise Forbidden("admins only")
    return user


async def admin_read(request: web.Request, read: Callable[[AsyncConnection], Awaitable[T]]) -> tuple[Services, T]:
    """The shape of an admin page's read: the caller must be an admin (403 otherwise); returns the
    services and what ``read`` returns on a reader connection."""
    require_admin(request)
    svc = request.app[SERVICES]
    async with reader(svc.engine).connect() as conn:
        return svc, await read(conn)


@routes.get("/admin")
async def admin_home(request: web.Request) -> web.Response:
    require_admin(request)
    raise redirect("/admin/users")


@routes.get("/admin/users")
async def users_page(request: web.Request) -> web.Response:
    _svc, users = await admin_read(request, lambda conn: accounts.list_users(conn=conn))
    edit = next((u for u in users if u.name == request.query.get("edit")), None)
    form_ = UserForm(mode="edit" if edit else "create", values=values_of(edit))
    return await _users_view(request, users, form_)


async def _users_view(request: web.Request, users: list[UserInfo], form_: UserForm, status: int = 200) -> web.Response:
    svc = request.app[SERVICES]
    return await render(request, "admin/users.html", {"users": users, "form": form_, "roles": ROLES,
                                                      "teams": svc.settings.teams, "page": "admin",
                                                      "section": "users"}, status=status)


@routes.post("/admin/users")
async def users_save(request: web.Request) -> web.Response:
    """Create (``mode=create``: a name that exists is refused with 409) or edit (``mode=edit``) a
    user; a refused form comes back with every problem next to its field and the input kept."""
    admin = require_admin(request)
    svc = request.app[SERVICES]
    data = await form(request)
    teams = await form_lists(request, "teams")
    async with reader(svc.engine).connect() as conn:
        existing = await accounts.get_user(data.get("name", "").strip().lower(), conn=conn)
        users = await accounts.list_users(conn=conn)
    checked = read_user_form(data, teams, {t.name for t in svc.settings.teams}, existing)
    if checked.errors:
        return await _users_view(request, users, checked, status=checked.status)
    v = checked.values
    pw_hash = credentials.hash_password(data["password"]) if data.get("password") else None
    async with svc.engine.begin() as conn:
        before = await accounts.user_state(v["name"], conn=conn)
        user = await accounts.add_user(v["name"], v["role"], teams, pw_hash, conn=conn, now=svc.clock.now(),
                                       display_name=v["display_name"], locale=v["locale"] or None,
                                       capacity=int(v["capacity"]))
        await audit.record("user_added" if before is None else "user_changed", admin.name,
                           {"user": user.name, "from": before,
                            "to": {"role": user.role, "teams": sorted(user.teams), "active": True},
                            "password_set": pw_hash is not None}, conn=conn, now=svc.clock.now())
    forget_all(request.app)  # role, teams, password: the next request must read them again
    done = _("User %(name)s updated.") if existing else _("User %(name)s created.")
    await flash(request, done % {"name": user.name}, "ok")
    raise redirect("/admin/users")


@routes.post("/admin/users/{name}/deactivate")
async def users_deactivate(request: web.Request) -> web.Response:
    admin = require_admin(request)
    svc = request.app[SERVICES]
    name = request.match_info["name"]
    if name == admin.name:
        raise Invalid("you cannot deactivate yourself")
    async with svc.engine.begin() as conn:
        user = await accounts.get_user(name, conn=conn)
        if user is None:
            raise NotFound("no such user")
        await accounts.set_user_fields(user.id, {"active": False}, conn=conn, now=svc.clock.now())
        await accounts.revoke_tokens(user.id, conn=conn, now=svc.clock.now())  # API tokens and sessions
        await audit.record("user_deactivated", admin.name, {"user": user.name}, conn=conn, now=svc.clock.now())
    forget_all(request.app)
    await flash(request, _("User %(name)s deactivated.") % {"name": name}, "ok")
    raise redirect("/admin/users")


@routes.get("/admin/teams")
async def teams_page(request: web.Request) -> web.Response:
    require_admin(request)
    return await section_page(request, "teams", await editor_context(request, "teams", edit=request.query.get("edit")))


@routes.get("/admin/connectors")
async def connectors_page(request: web.Request) -> web.Response:
    require_admin(request)
    return await section_page(request, "connectors",
                              await editor_context(request, "connectors", edit=request.query.get("edit")))


@routes.get("/admin/rules")
async def rules_page(request: web.Request) -> web.Response:
    require_admin(request)
    return await section_page(request, "rules", await editor_context(request, "rules", edit=request.query.get("edit")))


async def section_page(request: web.Request, section: str, ctx: dict[str, Any], status: int = 200) -> web.Response:
    """The admin page of a configuration section with its editor (inbox.web.admin_config_pages)."""
    build = {"teams": _teams_ctx, "connectors": _connectors_ctx, "rules": _rules_ctx}[section]
    return await render(request, f"admin/{section}.html", {**await build(request), **ctx, "page": "admin",
                                                            "section": section}, status=status)


async def _teams_ctx(request: web.Request) -> dict[str, Any]:
    svc = request.app[SERVICES]
    async with reader(svc.engine).connect() as conn:
        members = {t.name: await accounts.list_users(conn=conn, team=t.name) for t in svc.settings.teams}
    return {"teams": svc.settings.teams, "members": members, "routing": svc.settings.routing}


def _replies_shown(health: str | None) -> str | None:
    """A connector's reply health for the page: "ready", None, or why not in the reader's language."""
    return health if health in (None, "ready") else translate_error(health)


async def _connectors_ctx(request: web.Request) -> dict[str, Any]:
    svc = request.app[SERVICES]
    async with reader(svc.engine).connect() as conn:
        states = {s["name"]: s for s in await connector_state.all_states(conn=conn)}
    rows: list[dict[str, Any]] = []
    for c in svc.settings.connectors:
        s = states.pop(c.name, None) or {}
        rows.append({"name": c.name, "type": c.type, "enabled": getattr(c, "enabled", True),
                     "interval": getattr(c, "interval", None), "state": s,
                     "replies": _replies_shown(reply_health(c, os.environ))})
    for name, s in states.items():  # stored state of a connector no longer configured
        rows.append({"name": name, "type": s.get("type"), "enabled": False, "interval": None, "state": s,
                     "replies": None})
    return {"connectors": rows}


async def _rules_ctx(request: web.Request) -> dict[str, Any]:
    svc = request.app[SERVICES]
    rules = [{k: v for k, v in r.model_dump().items() if v not in (None, [], "")} for r in svc.settings.rules]
    return {"rules": rules, "routing": svc.settings.routing, "config_file": svc.settings.config_file}


@routes.get("/admin/models")
async def models_page(request: web.Request) -> web.Response:
    svc, versions = await admin_read(request, lambda conn: model_versions.list_versions(conn=conn))
    rows = []
    for v in versions:
        meta = v["meta"] or {}
        ev = meta.get("evaluation") or {}
        rows.append({"version": v["version"], "active": v["active"], "created_at": v["created_at"],
                     "promoted_at": v["promoted_at"],
                     "evaluation": {k: e for k, e in ev.items() if isinstance(e, dict)},
                     "rows": sum(f.get("rows", 0) for f in meta.get("data_files", []) if isinstance(f, dict)),
                     "labels": meta.get("labels")})
    live = svc.classifier.version if svc.classifier else None
    return await render(request, "admin/models.html", {"versions": rows, "live": live, "page": "admin",
                                                       "section": "models"})


@routes.post("/admin/models/{version}/promote")
async def models_promote(request: web.Request) -> web.Response:
    admin = require_admin(request)
    svc = request.app[SERVICES]
    version = request.match_info["version"]
    data = await form(request)
    await model_lifecycle.promote_version(svc, version, force=data.get("force") == "1", actor=admin.name)
    if svc.control is not None:
        await svc.control.check()  # this instance loads it before answering; the others within a second
    else:
        await svc.load_model()
    await flash(request, _("Model %(version)s promoted and loaded.") % {"version": version}, "ok")
    raise redirect("/admin/models")
