"""Configuration edited in the app: the sections ``connectors``, ``rules`` and ``teams`` live in the
database (``config_revision``), each change a new version validated by the same models
as the TOML file, with an audit event (who, when, the diff) and a control message that makes every
instance apply it without a restart. `init` on a new database records the file's sections as
their first versions (actor ``seed``, :func:`seed`); from then on the database's versions are in
force. In a database set up before that, a section's file entries are in force until its first
edit, which records them as its first version; either way a rollback can return to them.
Secrets are never stored: the sections name environment variables."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from connectors.config import ConnectorSettings
from inbox.errors import Conflict, Invalid, NotFound
from inbox.ops import audit
from inbox.ops.control import SETTINGS, send
from inbox.settings import RuleSettings, Settings, TeamSettings
from inbox.storage.engine import reader
from inbox.storage.repo import accounts, config_store

if TYPE_CHECKING:
    from inbox.ops.services import Services

__all__ = ["SECTIONS", "ConfigInvalid", "document", "overlay", "seed", "load_from_db", "change", "rollback", "diff",
           "CHANGED", "ROLLED_BACK"]

log = structlog.get_logger(__name__)

SECTIONS: dict[str, type[BaseModel]] = {"connectors": ConnectorSettings, "rules": RuleSettings, "teams": TeamSettings}
CHANGED = "config_changed"
ROLLED_BACK = "config_rolled_back"


class ConfigInvalid(Invalid):
    """A section that the file's schema refuses; ``errors`` names each field (``loc``, ``msg``)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5]))
        self.errors = errors


def _plain(o: Any) -> Any:
    if isinstance(o, timedelta):
        s = o.total_seconds()
        return int(s) if s == int(s) else s
    if isinstance(o, dict):
        return {k: _plain(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_plain(v) for v in o]
    return o


def document(settings: Settings, section: str) -> list[dict[str, Any]]:
    """The section as the TOML file would hold it (defaults left out, durations in seconds)."""
    return [_plain(m.model_dump(exclude_defaults=True)) for m in getattr(settings, section)]


def _errors(e: ValidationError, prefix: str) -> list[dict[str, str]]:
    out = []
    for err in e.errors(include_input=False, include_url=False):
        loc = ".".join([prefix, *(str(p) for p in err["loc"])]).strip(".")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        out.append({"loc": loc or section_of(prefix), "msg": msg})
    return out


def section_of(loc: str) -> str:
    return loc.split(".", 1)[0].split("[", 1)[0]


def overlay(base: Settings, docs: dict[str, list[dict[str, Any]]]) -> Settings:
    """``base`` with these sections replaced, validated as the file would be (ConfigInvalid)."""
    update: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for section, doc in docs.items():
        model = SECTIONS[section]
        parsed = []
        for i, entry in enumerate(doc):
            try:
                parsed.append(model.model_validate(entry))
            except ValidationError as e:
                errors += _errors(e, f"{section}[{i}]")
        update[section] = parsed
    if errors:
        raise ConfigInvalid(errors)
    new = base.model_copy(update=update)
    try:
        new.check_references()
    except ValueError as e:
        msg = str(e)
        loc, _, text = msg.partition(": ")
        raise ConfigInvalid([{"loc": loc if text else "(settings)", "msg": text or msg}]) from None
    return new


async def seed(svc: Services) -> dict[str, int]:
    """Record the file's sections as their first versions (actor ``seed``) in a new database, so
    the database holds the configuration from the start and every instance reads the same one.
    Sections that have a version already are left alone. Returns the versions written."""
    base = svc.file_settings or svc.settings
    now = svc.clock.now()
    out: dict[str, int] = {}
    async with svc.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two `init` at once: the second finds the first's versions
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('inbox.config_seed'))"))
        found = await config_store.current(conn=conn)
        for section in SECTIONS:
            if section not in found:
                out[section] = await config_store.add_revision(section, document(base, section), actor="seed",
                                                               conn=conn, now=now)
    await load_from_db(svc)
    log.info("config_seeded", versions=out)
    return out


async def load_from_db(svc: Services) -> bool:
    """Apply the sections stored in the database to ``svc`` (from its file settings); False when
    the database has no configuration table yet (before `init`)."""
    try:
        async with reader(svc.engine).connect() as conn:
            found = await config_store.current(conn=conn)
    except (OperationalError, DBAPIError):
        return False
    docs = {s: doc for s, (_v, doc) in found.items() if s in SECTIONS}
    base = svc.file_settings or svc.settings
    svc.apply_settings(overlay(base, docs) if docs else base)
    svc.config_versions = {s: v for s, (v, _d) in found.items()}
    return True


def diff(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, Any]:
    """Entries added, removed and changed (by name), and for a changed one each key's old and new value."""
    a = {str(e.get("name")): e for e in old}
    b = {str(e.get("name")): e for e in new}
    changed: dict[str, dict[str, list[Any]]] = {}
    for name in sorted(a.keys() & b.keys()):
        keys = sorted(a[name].keys() | b[name].keys())
        d = {k: [a[name].get(k), b[name].get(k)] for k in keys if a[name].get(k) != b[name].get(k)}
        if d:
            changed[name] = d
    order = [str(e.get("name")) for e in old] != [str(e.get("name")) for e in new]
    return {"added": sorted(b.keys() - a.keys()), "removed": sorted(a.keys() - b.keys()), "changed": changed,
            **({"reordered": True} if order and not (a.keys() ^ b.keys()) else {})}


async def change(svc: Services, section: str, new_doc: list[dict[str, Any]], *, actor: str,
                 kind: str = CHANGED, note: dict[str, Any] | None = None) -> int:
    """Validate and store a new version of ``section``; audit it; tell every instance. Returns the version."""
    if section not in SECTIONS:
        raise NotFound(f"no configuration section {section!r}")
    await load_from_db(svc)  # validate against what is in force now, whoever changed it last
    old_doc = document(svc.settings, section)
    new_settings = overlay(svc.settings, {section: new_doc})
    stored = document(new_settings, section)
    if stored == old_doc:
        raise Conflict(f"{section}: nothing changed")
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        versions = await config_store.current(conn=conn)
        if section not in versions:
            await config_store.add_revision(section, old_doc, actor="seed", conn=conn, now=now)
        version = await config_store.add_revision(section, stored, actor=actor, conn=conn, now=now)
        if section == "teams":
            await accounts.sync_teams(new_settings.teams, conn=conn, now=now)
        await audit.record(kind, actor, {"section": section, "version": version, "diff": diff(old_doc, stored),
                                         **(note or {})}, conn=conn, now=now)
        await send(SETTINGS, {"section": section, "version": version}, conn=conn, now=now, origin=svc.owner)
    svc.apply_settings(new_settings)
    svc.config_versions[section] = version
    log.info("config_changed", section=section, version=version, actor=actor)
    return version


async def rollback(svc: Services, section: str, *, actor: str, to_version: int | None = None) -> int:
    """Put back an earlier version of ``section`` (default: the one before the version in force) as a
    new version."""
    if section not in SECTIONS:
        raise NotFound(f"no configuration section {section!r}")
    async with reader(svc.engine).connect() as conn:
        hist = await config_store.history(section, conn=conn, limit=1000)
        if to_version is None:
            if len(hist) < 2:
                raise Conflict(f"{section}: no earlier version to roll back to")
            to_version = int(hist[1]["id"])
        rev = await config_store.revision(to_version, conn=conn)
    if rev is None or rev["section"] != section:
        raise NotFound(f"{section}: no version {to_version}")
    return await change(svc, section, list(rev["document"]), actor=actor, kind=ROLLED_BACK,
                        note={"to_version": to_version})
