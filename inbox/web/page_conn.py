"""One read connection per HTML page: the page's reads, the reply and hand-over panels and the
header's notification state all run on it, instead of each checking a connection out of the pool
and returning it (a check-out and its closing rollback cost about as much as a statement: on
SQLite each is a trip to the driver's thread).

The handler opens it around its reads *and* its ``render`` (so the header reads on it too); code
called inside that block asks :func:`page_conn` again and gets the same connection, so it need
not be passed down. Outside such a block :func:`page_conn` opens a connection of its own, as
``read_conn`` does. It is a ``reader`` connection (no transaction, each statement its own
snapshot), never to write through. Inside the block nothing may check out a second connection
(a write, a count read by ``inbox.web.counts``): with every pooled connection held by pages
waiting for another, they would all wait for the pool's timeout. Such work runs before the block
(or between two blocks, as the item page marks notifications read)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from inbox.storage.engine import read_conn
from inbox.web.keys import PAGE_CONN, SERVICES

__all__ = ["page_conn"]

@asynccontextmanager
async def page_conn(request: web.Request) -> AsyncIterator[AsyncConnection]:
    """The request's read connection: the one already open for it, else a new one kept open (for
    the nested calls) until this block ends. Not for concurrent use by several tasks."""
    held = request.get(PAGE_CONN)
    if held is not None:
        yield held
        return
    async with read_conn(request.app[SERVICES].engine) as conn:
        request[PAGE_CONN] = conn
        try:
            yield conn
        finally:
            request.pop(PAGE_CONN, None)
