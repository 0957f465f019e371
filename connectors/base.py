"""The connector contract: what every platform connector returns to the inbox.

A connector gets its settings and the stored cursor, pages through its platform with one shared
HTTP client, and returns a :class:`PollResult`. It never touches the database: the inbox stores the
mentions, the rejects and the new cursor in one transaction.
"""
from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

__all__ = ["Mention", "Reject", "StreamError", "SourceWarning", "PollResult", "Connector", "BatchedConnector",
           "poll_in_batches"]


@dataclass(slots=True)
class Mention:
    """One normalized platform item (see shared/docs/connectors.md, section 0).

    ``source`` is the connector's configured name; ``(source, external_id)`` is the row key.
    ``text`` is plain text (HTML stripped, entities decoded, whitespace collapsed).
    ``created_at`` is timezone-aware UTC or None when the platform gives no date.
    ``provenance`` says where a field came from when it is not the platform's usual one
    (``{"created_at": "indexedAt: record.createdAt '…' is not a date"}``); empty when all is usual.
    """

    source: str
    platform: str
    external_id: str
    text: str
    url: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    language: str | None = None
    created_at: datetime | None = None
    reply_to_id: str | None = None
    thread_id: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    is_repost: bool = False
    original_external_id: str | None = None
    edited_at: datetime | None = None
    deleted: bool = False
    raw: Any = None
    provenance: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Reject:
    """An item that could not be normalized: kept with its raw payload for the dead-letter table.

    ``key`` identifies the item on its platform when it could be read (its id, uri, guid ...): the
    poll loop remembers it so that the same bad item is dead-lettered once, not on every poll.
    """

    source: str
    reason: str
    raw: str
    position: int | None = None
    key: str | None = None


@dataclass(slots=True)
class StreamError:
    """One part of a poll (a query, an instance, a feed) that failed or was cut short.

    ``kind`` is the :class:`connectors.errors.ConnectorError` kind (``transient``,
    ``rate_limited``, ``permanent``, ``blocked``, ``payload``, ...) or ``truncated`` when the page
    cap stopped a walk early. The stream's cursor was left unchanged unless ``kind`` is
    ``truncated``. ``retry_at`` is set for ``rate_limited``.
    """

    stream: str
    kind: str
    message: str
    retry_at: datetime | None = None


@dataclass(slots=True)
class SourceWarning:
    """Something a poll read but had to guess at: a feed recovered by the lenient parser, a
    charset detected rather than declared, dates taken from another field. Nothing was lost; the
    source's health shows it. ``kind``: ``lenient_parse``, ``encoding``, ``date`` ..."""

    kind: str
    message: str
    stream: str = ""


@dataclass(slots=True)
class PollResult:
    """What one poll of one connector produced.

    ``cursor`` is the state to store *after* ``mentions`` are committed (same transaction).
    ``requests`` counts HTTP requests made; ``pages`` counts pages parsed.
    ``errors`` lists the streams that failed while others succeeded (a poll where every stream
    fails raises instead); a non-empty list means "degraded", not "down". ``warnings`` are the
    source's :class:`SourceWarning`s of this poll. ``read`` counts the items the platform returned
    that were understood, new or already seen (what tells a quiet source from a broken one).
    """

    mentions: list[Mention]
    cursor: dict[str, Any]
    rejects: list[Reject] = field(default_factory=list)
    requests: int = 0
    pages: int = 0
    errors: list[StreamError] = field(default_factory=list)
    warnings: list[SourceWarning] = field(default_factory=list)
    read: int = 0


@runtime_checkable
class Connector(Protocol):
    """A platform connector.

    ``poll(cursor)`` fetches every item newer than ``cursor`` (None on the first run) and returns
    a :class:`PollResult`. It must not advance the cursor past the poll's start time, must raise
    ``connectors.errors.ConnectorError`` subclasses for failures it could not absorb, and must not
    write anywhere.
    """

    type: ClassVar[str]

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult: ...


@runtime_checkable
class BatchedConnector(Connector, Protocol):
    """A connector that can hand a poll over in batches while it is still paging.

    ``poll_batches(cursor, batch_size=n)`` yields :class:`PollResult` batches in order, about
    ``n`` mentions each (one batch when ``n`` is None), and always at least one. Each batch's
    ``cursor`` may be stored once that batch and every earlier one are stored: it never covers
    an item that was not handed over in them, and never passes the poll's start time. The last
    batch carries the poll's final cursor; ``requests`` and ``pages`` count what happened since
    the previous batch; ``errors`` appear where they happened. When the poll fails after some
    batches, those batches still stand (their cursors were safe) and the error is raised.
    """

    def poll_batches(
        self, cursor: dict[str, Any] | None, *, batch_size: int | None = None
    ) -> AsyncGenerator[PollResult, None]: ...


async def poll_in_batches(
    connector: Connector, cursor: dict[str, Any] | None, *, batch_size: int | None
) -> AsyncGenerator[PollResult, None]:
    """``connector.poll_batches`` when it has it, otherwise its whole ``poll`` as one batch."""
    if isinstance(connector, BatchedConnector):
        async with aclosing(connector.poll_batches(cursor, batch_size=batch_size)) as batches:
            async for batch in batches:
                yield batch
    else:
        yield await connector.poll(cursor)
