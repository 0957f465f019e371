"""The queue header's counts: while one request refreshes a team's expired counts, the others
show the previous ones instead of queueing for a database connection."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from inbox.web import pages


async def test_expired_counts_being_refreshed_are_served_stale() -> None:
    """An expired entry whose team is being refreshed is returned as is, without a read (the
    app has no services: any database access would fail)."""
    stale = {"open": 3, "new": 2, "oldest": None, "overdue": 0}
    app: dict[Any, Any] = {pages.COUNTS_CACHE: {"care": (0.0, stale)}, pages.COUNTS_REFRESHING: {"care"}}
    assert await pages._team_counts(SimpleNamespace(app=app), "care") is stale  # type: ignore[arg-type]
