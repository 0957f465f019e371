"""The request path's IN lists (the teams a user sees, the open statuses) are fixed lists of bound
values, never SQLAlchemy's "expanding" parameter, whose SQL is rendered again on every execution."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from inbox.storage.repo import page_reads, people_notify
from inbox.storage.repo._common import T_ITEM
from inbox.storage.repo.items import visible_clause


def _expanding(stmt: object) -> list[str]:
    out = []
    for dialect in (sqlite.dialect(), postgresql.dialect()):  # type: ignore[no-untyped-call]  # SQLAlchemy's own
        compiled = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
        out += [name for name, b in compiled.binds.items() if b.expanding]
    return out


def test_the_teams_a_user_sees_are_bound_one_by_one() -> None:
    stmt = select(T_ITEM.c.id).where(visible_clause(["customer_care", "pr"]))
    assert _expanding(stmt) == []
    assert str(stmt.compile(dialect=sqlite.dialect())).count("?") >= 2  # type: ignore[no-untyped-call]


def test_the_page_statements_render_nothing_per_execution() -> None:
    teams = ("customer_care", "pr")
    assert _expanding(page_reads._my_items_stmt(teams)) == []
    assert _expanding(page_reads._page_summaries_stmt(("new",))) == []
    assert _expanding(people_notify._header_stmt(teams, ("hr",))) == []
