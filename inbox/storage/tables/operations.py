"""Running the service: connector state (cursor, lease, health), model versions, the control
channel's messages and configuration revisions."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from inbox.storage.tables.fields import json_field, ts_field

__all__ = ["ConnectorState", "ModelVersion", "ControlMessage", "ConfigRevision"]


class ConnectorState(SQLModel, table=True):
    __tablename__ = "connector_state"
    name: str = Field(primary_key=True, max_length=64)
    type: str = Field(default="", max_length=32)
    cursor: dict[str, Any] | None = json_field()
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = ts_field()
    last_poll_started_at: datetime | None = ts_field()
    last_success_at: datetime | None = ts_field()
    last_error: str | None = None
    last_error_at: datetime | None = ts_field()
    consecutive_failures: int = 0
    mentions_fetched: int = 0
    healthy: bool = True
    health_reason: str | None = None  # why a source that polls fine is unhealthy (source_health.py)
    warnings: list[dict[str, str]] | None = json_field()  # the source warnings of the last poll that read anything
    warnings_at: datetime | None = ts_field()
    last_poll: dict[str, Any] | None = json_field()  # read / stored / rejected / warnings of the last poll
    next_poll_at: datetime | None = ts_field()
    updated_at: datetime | None = ts_field()


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_version"
    version: str = Field(primary_key=True, max_length=64)
    path: str
    meta: dict[str, Any] | None = json_field()
    active: bool = False
    created_at: datetime | None = ts_field(nullable=False)
    promoted_at: datetime | None = ts_field()


class ControlMessage(SQLModel, table=True):
    """The control channel's log: what every instance must hear about itself (a promoted model,
    changed settings, changed authorisation). Instances read rows newer than the last they saw;
    on PostgreSQL a NOTIFY with the row's id wakes them at once. Rows older than a day are pruned."""

    __tablename__ = "control_message"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)               # model | settings | auth
    payload: dict[str, Any] | None = json_field()
    origin: str = Field(default="", max_length=128)  # the instance (or CLI process) that sent it
    created_at: datetime | None = ts_field(nullable=False, index=True)


class ConfigRevision(SQLModel, table=True):
    """One version of one section of the configuration edited in the app (connectors, rules,
    teams): the whole section as the TOML file would hold it. The newest row of a section is in
    force; a rollback writes an older document again as a new row."""

    __tablename__ = "config_revision"
    __table_args__ = (Index("ix_config_revision_section", "section", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    section: str = Field(max_length=32)
    document: list[dict[str, Any]] = json_field(list)
    actor: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = ts_field(nullable=False)
