"""Mastodon (and Mastodon-API servers): keyword search and hashtag timelines.

Settings: ``query`` terms; a term starting with ``#`` reads ``/api/v1/timelines/tag/<tag>``, any
other term ``/api/v2/search?type=statuses``. ``instances`` lists several servers to widen
federation coverage (default: ``base_url``); the same post seen through two servers has one
``uri`` and is returned once. ``token_env`` names a bearer token (optional).

Cursor per (instance, term): ``{"min_id": "<largest status id seen>"}``, compared as integers.
A first run takes one page without parameters; later runs walk ``min_id`` pages until an empty
page (shared/docs/connectors.md §1). The walk goes oldest first, so each page's largest id is a
safe place to resume: pages are handed over one by one and a long walk is stored in batches.
That holds only if the page really is the one after the anchor: a server (or a cache in front of
it) that answers the newest page instead would make the walk jump over everything in between. So
each page is asked from just below the anchor (``min_id`` = anchor - 1 for decimal ids): a page
that starts with the anchor itself is proven contiguous with what is stored, for the price of one
status of overlap. A full page that does not reach back to the anchor (the anchor was deleted, the
ids are not decimal, or the server ignored ``min_id``) is followed by a one-status probe for
anything between the anchor and the page's oldest id; anything there fails the stream and the
cursor stays.
"""
from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from yarl import URL

from .base import Mention, Reject
from .context import ContextResult, post_of
from .errors import PayloadError
from .html import collapse_whitespace, html_to_text
from .normalize import lenient_datetime, parse_items, pick_created_at, require, require_text
from .paging import MinIdPaginator, id_key
from .polling import PollingConnector, Stream, StreamPage

__all__ = ["parse_statuses", "status_to_mention", "MastodonConnector"]


def _handle(account: dict[str, Any], instance_host: str | None) -> str | None:
    acct = account.get("acct") or account.get("username")
    if not acct:
        return None
    if "@" in acct:
        return str(acct)
    domain = URL(account["url"]).host if account.get("url") else instance_host
    return f"{acct}@{domain}" if domain else str(acct)


def _text(status: dict[str, Any]) -> str:
    """The content warning, then the plain text of the HTML ``content``."""
    spoiler = collapse_whitespace(status.get("spoiler_text") or "")
    body = html_to_text(status.get("content") or "")
    return "\n".join(part for part in (spoiler, body) if part)


def status_to_mention(
    status: dict[str, Any], *, source: str, instance_host: str | None = None, fetched_at: datetime | None = None
) -> Mention:
    """One status object → :class:`Mention` (a boost keeps its own uri, text of the original).
    A ``created_at`` that is missing or not a date (Mastodon-API servers differ) gives way to
    ``edited_at``, then the fetch time, noted in ``provenance``; a junk ``edited_at`` is ignored."""
    uri = str(require(status, "uri"))
    reblog = status.get("reblog")
    original = reblog if isinstance(reblog, dict) else status
    # a boost's wrapper is empty; a server that left the boosted post's text out may have put it there
    text = require_text(_text(original) or _text(status))
    account = status.get("account") or {}
    provenance: dict[str, str] = {}
    created_at = pick_created_at([("created_at", status.get("created_at")), ("edited_at", original.get("edited_at"))],
                                 fetched_at, provenance)
    return Mention(
        source=source,
        platform="mastodon",
        external_id=uri,
        text=text,
        url=status.get("url") or original.get("url") or uri,
        author_handle=_handle(account, instance_host),
        author_name=account.get("display_name") or None,
        author_followers=account.get("followers_count"),
        language=original.get("language") or None,
        created_at=created_at,
        reply_to_id=original.get("in_reply_to_id"),
        metrics={
            "replies": original.get("replies_count"),
            "reposts": original.get("reblogs_count"),
            "likes": original.get("favourites_count"),
            **({"quotes": original["quotes_count"]} if "quotes_count" in original else {}),
        },
        is_repost=isinstance(reblog, dict),
        original_external_id=str(reblog["uri"]) if isinstance(reblog, dict) and reblog.get("uri") else None,
        edited_at=lenient_datetime(original.get("edited_at"))[0],
        raw=status,
        provenance=provenance,
    )


def _statuses(payload: Any) -> list[Any]:
    statuses = payload.get("statuses") if isinstance(payload, dict) else payload
    if not isinstance(statuses, list):
        raise PayloadError("expected a list of statuses or a search result with 'statuses'")
    return statuses


def parse_statuses(
    payload: Any, *, source: str, instance_host: str | None = None
) -> tuple[list[Mention], list[Reject]]:
    """A ``/api/v2/search`` result or a timeline list → (mentions, rejects)."""
    return parse_items(
        _statuses(payload), source, lambda s: status_to_mention(s, source=source, instance_host=instance_host)
    )


@dataclass(frozen=True, slots=True)
class MastodonStream(Stream):
    instance: str = ""
    term: str = ""


class MastodonConnector(PollingConnector[MastodonStream]):
    """Polls search and hashtag timelines on one or more instances."""

    type = "mastodon"
    default_page_size = 40
    max_page_size = 40

    def streams(self) -> list[MastodonStream]:
        instances = list(self.settings.instances) or [self.settings.base()]
        return [
            MastodonStream(key=f"{inst}|{term}", label=f"{URL(inst).host}:{term}", instance=inst, term=term)
            for inst in instances
            for term in self.settings.query
        ]

    def _request(self, stream: MastodonStream) -> tuple[str, dict[str, str]]:
        params = {"limit": str(self.page_size)}
        if stream.term.startswith("#"):
            tag = quote(stream.term[1:], safe="")
            return f"{stream.instance}/api/v1/timelines/tag/{tag}", params
        params.update({"q": stream.term, "type": "statuses", "resolve": "false"})
        return f"{stream.instance}/api/v2/search", params

    context_batch = 20

    def _auth(self) -> dict[str, str]:
        token = self.env_secret(self.settings.token_env)
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def fetch_context(self, ids: Sequence[str]) -> ContextResult:
        """``GET /api/v1/statuses/{id}`` per id on ``base_url`` (see connectors/context.py)."""
        out = ContextResult()
        base = self.settings.base()
        for status_id in ids:
            response = await self.http.request("GET", f"{base}/api/v1/statuses/{quote(status_id, safe='')}",
                                               headers=self._auth(), accept=frozenset({404, 410}), decode=json.loads)
            if response.status in (404, 410):
                out.missing.add(status_id)
                continue
            mention = status_to_mention(response.json(), source=self.name, instance_host=URL(base).host)
            out.posts[status_id] = post_of(status_id, mention)
        return out

    async def stream_pages(
        self, stream: MastodonStream, state: dict[str, Any], started: datetime
    ) -> AsyncGenerator[StreamPage, None]:
        url, params = self._request(stream)
        headers = self._auth()
        host = URL(stream.instance).host
        anchor = state.get("min_id")
        pager = MinIdPaginator(max_pages=1 if anchor is None else self.max_pages, start=anchor)
        newest = anchor
        while not pager.done:
            # from just below the anchor, so that the page starts with it; a page of one would then
            # hold only the anchor, which reads as "nothing new"
            page_params = {k: _just_below(v) if self.page_size > 1 else v for k, v in pager.params().items()}
            payload, _ = await self.http.get_json(url, params={**params, **page_params}, headers=headers)
            raw = _statuses(payload)
            # a full page that reaches back to the anchor cannot have left anything out before it
            must_check = len(raw) >= self.page_size and pager.anchor is not None
            if anchor is not None:  # a server that ignores min_id must not loop us
                kept = [s for s in raw if isinstance(s, dict) and _newer(s.get("id"), pager.anchor)]
                must_check = must_check and len(kept) == len(raw)
                raw = kept
            page, page_rejects = parse_items(
                raw, self.name, lambda s: status_to_mention(s, source=self.name, instance_host=host, fetched_at=started)
            )
            ids = [str(s["id"]) for s in raw if isinstance(s, dict) and s.get("id") is not None]
            if must_check and ids and pager.anchor is not None:
                await self._check_no_gap(url, params, headers, pager.anchor, min(ids, key=id_key))
            pager.advance(ids)
            if ids:
                top = max(ids, key=id_key)
                newest = top if newest is None or id_key(top) > id_key(newest) else newest
            # min_id pages come oldest first: once this page is stored, nothing up to ``newest`` is left
            yield StreamPage(page, {"min_id": newest} if newest else {}, page_rejects,
                             capped=pager.capped and anchor is not None)

    async def _check_no_gap(self, url: str, params: dict[str, str], headers: dict[str, str], anchor: str,
                            oldest: str) -> None:
        """A full page whose every id is past the anchor is only safe to resume from if nothing lies
        between the anchor and its oldest id. A server that answered the newest page instead (it
        ignored ``min_id``) would otherwise make the walk jump over those items for good, so ask
        for one status strictly between the two. Anything there, or an answer that ignores the
        bounds (an id at or past the page's oldest other than that one), fails the stream with
        :class:`PayloadError` and the cursor stays where it was."""
        payload, _ = await self.http.get_json(
            url, params={**params, "limit": "1", "min_id": anchor, "max_id": oldest}, headers=headers)
        for status in _statuses(payload):
            status_id = status.get("id") if isinstance(status, dict) else None
            if status_id is None or str(status_id) == oldest or id_key(str(status_id)) <= id_key(anchor):
                continue  # the page's own oldest (max_id not applied) or nothing past the anchor
            raise PayloadError(f"min_id page after {anchor} left out status {status_id}: "
                               "the server did not answer the page that follows the cursor")


def _just_below(anchor: str) -> str:
    """The id just below a decimal ``anchor``, so that the page after it starts with the anchor
    itself; other ids (flake ids) have no such neighbour and are asked as they are."""
    return str(int(anchor) - 1) if anchor.isdigit() and int(anchor) > 0 else anchor


def _newer(status_id: Any, anchor: str | None) -> bool:
    if status_id is None:
        return True  # let parse reject it
    return anchor is None or id_key(str(status_id)) > id_key(anchor)
