"""The "help the model" list: the open items of a lead's teams that the model is least sure of,
one per cluster (inbox.domain.uncertainty). Answers go through WorkService.set_label, so they are
corrections like transfers' (metrics, ``model train --include-corrections``)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.domain.types import UserInfo
from inbox.domain.uncertainty import least_sure
from inbox.errors import Forbidden
from inbox.storage.engine import read_conn
from inbox.storage.repo import uncertain_reads

__all__ = ["uncertain_items", "HELP_ROLES"]

HELP_ROLES = ("lead", "admin")


async def uncertain_items(engine: AsyncEngine, user: UserInfo, limit: int = 20) -> list[dict[str, Any]]:
    """The items of the user's teams (all teams for an admin) the model is least sure of."""
    if user.role not in HELP_ROLES:
        raise Forbidden("only leads and admins label items for the model")
    teams = None if user.is_admin else list(user.teams)
    if teams == []:
        return []
    async with read_conn(engine) as conn:
        rows = await uncertain_reads.candidates(conn=conn, teams=teams)
    return least_sure(rows, limit)
