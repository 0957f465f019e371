"""Column helpers shared by the table modules: timestamps are timezone-aware UTC, JSON is JSONB on
PostgreSQL."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Column
from sqlmodel import Field

from inbox.storage.column_types import JSONType, UTCDateTime

__all__ = ["ts_field", "json_field"]


def ts_field(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_field(default: Any = None) -> Any:
    kw: dict[str, Any] = {"sa_column": Column(JSONType, nullable=default is None)}
    if default is not None:
        kw["default_factory"] = default
    else:
        kw["default"] = None
    return Field(**kw)
