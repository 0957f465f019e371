"""The editors of the admin pages for connectors, rules and teams: each entry is edited as the TOML
table the file would hold, validated by the same schema (inline errors per field, the input kept),
saved as a new version (inbox/ops/live_config.py) with a one-click rollback; "test this connector"
fetches once and shows the first items, "test the rules" shows the decision a text would get.
Nothing here is saved unless the form says so."""
from __future__ import annotations

import os
import tomllib
from datetime import datetime
from typing import Any

import tomlkit
from aiohttp import web
from pydantic import ValidationError

from connectors.base import Mention
from connectors.config import ConnectorSettings
from inbox.errors import Conflict, Invalid
from inbox.ingest.poll import Poller
from inbox.ops import live_config
from inbox.storage.engine import reader
from inbox.storage.repo import config_store
from inbox.web import i18n
from inbox.web.keys import SERVICES
from inbox.web.render import flash, form, redirect
from inbox.web.schema_errors import field_message

__all__ = ["routes", "editor_context"]

routes = web.RouteTableDef()
_ = i18n.gettext
_SECTIONS = ("connectors", "rules", "teams")


def _durations(section: str) -> set[str]:
    """The keys of ``section``'s entries that are durations (stored in seconds)."""
    return {name for name, f in live_config.SECTIONS[section].model_fields.items() if "timedelta" in str(f.annotation)}


def _duration_text(seconds: float) -> str:
    """3600 -> "1h", 15552000 -> "180d": as an admin writes it (the schema reads both)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _toml(entry: dict[str, Any], section: str) -> str:
    durations = _durations(section)
    return tomlkit.dumps({k: _duration_text(v) if k in durations and isinstance(v, (int, float))
                          and not isinstance(v, bool) else v for k, v in entry.items()})


async def editor_context(request: web.Request, section: str, *, edit: str | None = None,
                         text: str | None = None, errors: list[dict[str, str]] | None = None,
                         extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the page's editor shows: entries as TOML, the version and its history, which secrets
    are set, the entry being edited (kept as typed after an error) and its errors."""
    svc = request.app[SERVICES]
    await live_config.load_from_db(svc)
    doc = live_config.document(svc.settings, section)
    async with reader(svc.engine).connect() as conn:
        history = await config_store.history(section, conn=conn, limit=10)
    current = next((e for e in doc if e.get("name") == edit), None) if edit else None
    return {"editor": {
        "section": section, "entries": [{"name": e.get("name"), "toml": _toml(e, section)} for e in doc],
        "version": svc.config_versions.get(section), "history": history,
        "secrets": [{"field": f"{e.get('name')}.{k}", "env": v, "set": bool(os.environ.get(str(v)))}
                    for e in doc for k, v in e.items() if k.endswith("_env") and v],
        "edit": edit if current is not None or text is not None else None,
        "text": text if text is not None else (_toml(current, section) if current else ""),
        "errors": errors or [], **(extra or {})}}


def _parse(text: str, section: str) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """The entry typed in the form, or the errors per field (TOML syntax, then the schema)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return None, [{"loc": "(toml)", "msg": str(e)}]
    try:
        live_config.SECTIONS[section].model_validate(data)
    except ValidationError as e:
        return None, [{"loc": ".".join(str(p) for p in err["loc"]) or "(entry)",
                       "msg": field_message(err["type"], err["msg"], err.get("ctx"))}
                      for err in e.errors(include_input=False, include_url=False)]
    return data, []


async def _page(request: web.Request, section: str, ctx: dict[str, Any], status: int) -> web.Response:
    from inbox.web import admin  # the pages themselves; they import this module for their editor
    return await admin.section_page(request, section, ctx, status)


def _section(request: web.Request) -> str:
    section = request.match_info["section"]
    if section not in _SECTIONS:
        raise web.HTTPNotFound()
    return section


@routes.post("/admin/{section}/save")
async def save_entry(request: web.Request) -> web.Response:
    from inbox.web.admin import require_admin
    admin_user = require_admin(request)
    section = _section(request)
    svc = request.app[SERVICES]
    data = await form(request)
    original = data.get("original") or None
    text = data.get("entry", "")
    entry, errors = _parse(text, section)
    tried = None
    if entry is not None and data.get("action") == "test" and section == "connectors":
        cfg = ConnectorSettings.model_validate(entry)
        async with Poller(svc) as poller:
            tried = await poller.try_fetch(cfg)
        ctx = await editor_context(request, section, edit=original, text=text, extra={"tried": tried})
        return await _page(request, section, ctx, 200)
    if entry is not None:
        doc = live_config.document(svc.settings, section)
        names = [e.get("name") for e in doc]
        if original is None and entry["name"] in names:
            errors = [{"loc": "name", "msg": _("%(name)s exists already") % {"name": entry["name"]}}]
        else:
            new = [entry if e.get("name") == original else e for e in doc] if original else [*doc, entry]
            try:
                version = await live_config.change(svc, section, new, actor=admin_user.name)
            except live_config.ConfigInvalid as e:  # the entry against the others (a team that is not defined)
                errors = [{**err, "msg": field_message("value_error", err["msg"])} for err in e.errors]
            except Conflict:
                errors = [{"loc": "(entry)", "msg": _("nothing changed")}]
            else:
                await flash(request, _("Saved as version %(v)s.") % {"v": version}, "ok")
                raise redirect(f"/admin/{section}")
    ctx = await editor_context(request, section, edit=original, text=text, errors=errors)
    return await _page(request, section, ctx, 422)


@routes.post("/admin/{section}/delete")
async def delete_entry(request: web.Request) -> web.Response:
    from inbox.web.admin import require_admin
    admin_user = require_admin(request)
    section = _section(request)
    svc = request.app[SERVICES]
    name = (await form(request)).get("name", "")
    doc = live_config.document(svc.settings, section)
    if any(e.get("name") == name for e in doc):
        try:
            version = await live_config.change(svc, section, [e for e in doc if e.get("name") != name],
                                               actor=admin_user.name)
        except live_config.ConfigInvalid as e:  # still named elsewhere (a rule's team, the routing)
            errors = [{"loc": name, "msg": _("not deleted: the settings still name it")}]
            errors += [{**err, "msg": field_message("value_error", err["msg"])} for err in e.errors]
            return await _page(request, section, await editor_context(request, section, errors=errors), 422)
        await flash(request, _("Saved as version %(v)s.") % {"v": version}, "ok")
    raise redirect(f"/admin/{section}")


@routes.post("/admin/{section}/rollback")
async def rollback_section(request: web.Request) -> web.Response:
    from inbox.web.admin import require_admin
    admin_user = require_admin(request)
    section = _section(request)
    svc = request.app[SERVICES]
    raw = (await form(request)).get("version", "")
    to = int(raw) if raw.isdigit() else None
    try:
        version = await live_config.rollback(svc, section, actor=admin_user.name, to_version=to)
    except Conflict as e:
        await flash(request, str(e), "error")
    else:
        await flash(request, _("Rolled back: version %(v)s is in force.") % {"v": version}, "ok")
    raise redirect(f"/admin/{section}")


@routes.post("/admin/rules/try")
async def try_rules(request: web.Request) -> web.Response:
    from inbox.web.admin import require_admin
    require_admin(request)
    svc = request.app[SERVICES]
    text = (await form(request)).get("text", "").strip()
    errors: list[dict[str, str]] = []
    decision = None
    if not text:
        errors = [{"loc": "text", "msg": _("a text is needed")}]
    else:
        m = Mention(source="test", platform="test", external_id="test", text=text[:5000])
        decision = await (await svc.ready_pipeline()).dry_run(m)
    ctx = {**await editor_context(request, "rules"), "try_text": text, "try_errors": errors, "decision": decision}
    return await _page(request, "rules", ctx, 422 if errors else 200)


_KINDS = ("config_changed", "config_rolled_back", "user_added", "user_changed", "user_deactivated", "token_created",
          "tokens_revoked", "model_promoted", "privacy_erased", "retention_applied", "routed", "claimed", "note",
          "transfer", "status")


@routes.get("/admin/audit")
async def audit_page(request: web.Request) -> web.Response:
    """Every change (items, users, tokens, configuration, models, privacy), newest first, filtered
    by who, kind, item and dates; a bad filter is shown next to the form, the rest kept."""
    from inbox.ops.audit import AuditFilter, audit_events
    from inbox.web.admin import require_admin
    from inbox.web.render import render
    require_admin(request)
    svc = request.app[SERVICES]
    q = {k: (request.query.get(k) or "").strip()[:64] for k in ("actor", "kind", "item", "since", "until")}
    errors: dict[str, str] = {}
    if q["item"] and not (q["item"].isascii() and q["item"].isdigit() and len(q["item"]) < 19):
        errors["item"] = _("The item is a number.")
    events: list[dict[str, Any]] = []
    if not errors:
        try:
            flt = AuditFilter.parse(actor=q["actor"], kind=q["kind"], item=int(q["item"]) if q["item"] else None,
                                    since=q["since"], until=q["until"], limit=200)
        except Invalid:
            errors["since" if q["since"] else "until"] = _("A date is written like 2026-01-31.")
        else:
            events = await audit_events(svc.engine, flt)
    for e in events:
        e["created_at"] = datetime.fromisoformat(e["created_at"]) if e["created_at"] else None
    return await render(request, "admin/audit.html", {"events": events, "f": q, "errors": errors, "kinds": _KINDS,
                                                      "page": "admin", "section": "audit"},
                        status=422 if errors else 200)
