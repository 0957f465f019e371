"""Saved views: a user's named filters of the views or search page."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from inbox.storage.tables.fields import ts_field

__all__ = ["SavedView"]


class SavedView(SQLModel, table=True):
    """One user's named view: which page (``views`` or ``search``) and its query string (filters and
    sort, only the keys that page reads). Visibility is not stored: the page applies the user's
    teams when the view is opened, as for any other request."""

    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_view_user_name"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    name: str = Field(max_length=80)
    page: str = Field(max_length=16)
    query: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = ts_field(nullable=False)
