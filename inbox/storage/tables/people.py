"""Who works in the inbox: teams, users and their memberships, API tokens, and the login
throttle's bookkeeping."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from inbox.storage.tables.fields import ts_field

__all__ = ["Team", "User", "Membership", "ApiToken", "LoginAttempt", "LoginThrottle"]


class Team(SQLModel, table=True):
    __tablename__ = "team"
    name: str = Field(primary_key=True, max_length=64)
    display_name: str = Field(default="", max_length=128)
    private: bool = False
    created_at: datetime | None = ts_field()


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(max_length=16)  # agent | lead | manager | admin
    password_hash: str | None = Field(default=None, max_length=256)
    locale: str | None = Field(default=None, max_length=8)
    capacity: int = 10
    available: bool = True
    active: bool = True
    shortcuts: str | None = Field(default=None, sa_type=Text)  # JSON, inbox/web/shortcuts.py
    notify_prefs: str | None = Field(default=None, sa_type=Text)  # JSON, inbox.domain.people_notify.Prefs
    created_at: datetime | None = ts_field()


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    team: str = Field(foreign_key="team.name", primary_key=True, max_length=64)
    # round-robin position: the team-wide sequence number of this member's last auto-assignment
    last_assigned_seq: int = 0


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=64)
    created_at: datetime | None = ts_field()
    last_used_at: datetime | None = ts_field()
    revoked_at: datetime | None = ts_field()


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempt"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    ok: bool = False
    created_at: datetime | None = ts_field(nullable=False, index=True)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per key ("user:NAME", "addr:IP" or "user+addr:NAME|IP") in the current window,
    and until when the key is refused; "known:NAME|IP" rows only say when NAME
    last signed in from IP. Updated with one conditional UPDATE per attempt, before the
    password is checked, so concurrent attempts are counted (repo.login_throttle)."""

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    window_start: datetime | None = ts_field(nullable=False)
    blocked_until: datetime | None = ts_field()
