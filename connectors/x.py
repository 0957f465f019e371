"""X / Twitter API v2 recent search (``/2/tweets/search/recent``, last 7 days).

Settings: ``query`` terms (X operators pass through, e.g. ``"lumetta" -is:retweet``);
``token_env`` names the app-only bearer token; ``base_url`` default ``https://api.x.com``.

Cursor per term: ``{"since_id": "<newest id>"}``. A poll sends ``since_id`` and follows
``meta.next_token``; the first page's ``meta.newest_id`` becomes the cursor only after every page
was read. A stored id older than ~7 days (read from the snowflake) is replaced by
``start_time = now - 7 days + 1 h``. A 429 whose problem ``type`` ends in ``usage-capped`` is the
monthly cap: :class:`PermanentError`, never retried.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .base import Mention, Reject
from .context import ContextResult, post_of
from .errors import ConnectorError, PayloadError, PermanentError
from .html import collapse_whitespace
from .http import HttpResponse
from .normalize import parse_items, pick_created_at, require, require_text, to_iso
from .paging import TokenPaginator, id_key
from .polling import PollingConnector, Stream, StreamOutcome

__all__ = ["parse_search_recent", "tweet_to_mention", "snowflake_time", "XConnector"]

TWEET_FIELDS = ("created_at,lang,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,public_metrics,"
                "entities,note_tweet,edit_history_tweet_ids")
EXPANSIONS = "author_id,referenced_tweets.id"
USER_FIELDS = "username,name,public_metrics,verified"
_TWITTER_EPOCH_MS = 1288834974657
_SEARCH_WINDOW = timedelta(days=7)
_NO_LANGUAGE = {"und", "zxx", "qme", "qam", "qct", "qht", "qst"}
_METRICS = {
    "retweet_count": "reposts", "reply_count": "replies", "like_count": "likes",
    "quote_count": "quotes", "bookmark_count": "bookmarks", "impression_count": "views",
}


def snowflake_time(tweet_id: str) -> datetime:
    """When a tweet id was minted (ids are snowflakes: milliseconds since 2010-11-04 << 22)."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + _TWITTER_EPOCH_MS) / 1000, UTC)


def _expand_urls(text: str, entities: dict[str, Any] | None) -> str:
    for link in (entities or {}).get("urls") or []:
        if isinstance(link, dict) and link.get("url") and link.get("expanded_url"):
            text = text.replace(link["url"], link["expanded_url"])
    return text


def tweet_to_mention(tweet: dict[str, Any], *, source: str, users: dict[str, dict[str, Any]]) -> Mention:
    """One tweet object (with the ``includes.users`` map) → :class:`Mention`."""
    tweet_id = str(require(tweet, "id"))
    history = [str(i) for i in tweet.get("edit_history_tweet_ids") or []]
    first_id = history[0] if history else tweet_id
    note = tweet.get("note_tweet") or {}
    raw_text = str(note.get("text") or require(tweet, "text"))
    text = html.unescape(_expand_urls(raw_text, tweet.get("entities")))
    refs = {
        ref.get("type"): str(ref.get("id")) for ref in tweet.get("referenced_tweets") or [] if isinstance(ref, dict)
    }
    retweet_of = refs.get("retweeted")
    is_retweet = retweet_of is not None or raw_text.startswith("RT @")
    user = users.get(str(tweet.get("author_id"))) or {}
    username = user.get("username")
    lang = tweet.get("lang")
    # a tweet id is a snowflake that carries its minting time: the stand-in for a junk created_at
    minted = snowflake_time(tweet_id).timestamp() if tweet_id.isdigit() and int(tweet_id) >> 22 else None
    provenance: dict[str, str] = {}
    created_at = pick_created_at([("created_at", tweet.get("created_at")), ("the id's snowflake time", minted)],
                                 None, provenance)
    metrics = tweet.get("public_metrics") or {}
    return Mention(
        source=source,
        platform="x",
        external_id=first_id,
        text=require_text(collapse_whitespace(text)),
        url=f"https://x.com/{username}/status/{tweet_id}" if username else f"https://x.com/i/web/status/{tweet_id}",
        author_handle=username or (str(tweet["author_id"]) if tweet.get("author_id") else None),
        author_name=user.get("name"),
        author_followers=(user.get("public_metrics") or {}).get("followers_count"),
        language=None if not lang or lang in _NO_LANGUAGE else lang,
        created_at=created_at,
        reply_to_id=refs.get("replied_to"),
        thread_id=tweet.get("conversation_id"),
        metrics={_METRICS[k]: v for k, v in metrics.items() if k in _METRICS},
        is_repost=is_retweet,
        original_external_id=retweet_of,
        edited_at=created_at if len(history) > 1 else None,
        raw=tweet,
        provenance=provenance,
    )


def _users(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    users = (payload.get("includes") or {}).get("users") or []
    return {str(u["id"]): u for u in users if isinstance(u, dict) and u.get("id")}


def parse_search_recent(payload: Any, *, source: str) -> tuple[list[Mention], list[Reject]]:
    """A recent-search response → (mentions, rejects). Top-level ``errors`` (unhydrated
    references) are ignored, as the docs advise."""
    if not isinstance(payload, dict):
        raise PayloadError("expected a JSON object")
    data = payload.get("data") or []
    if not isinstance(data, list):
        raise PayloadError("'data' must be a list")
    users = _users(payload)
    return parse_items(data, source, lambda t: tweet_to_mention(t, source=source, users=users))


def _classify(response: HttpResponse) -> ConnectorError | str | None:
    if response.status == 429:
        try:
            problem = response.json()
        except PayloadError:
            return None
        if isinstance(problem, dict) and str(problem.get("type", "")).endswith("usage-capped"):
            return PermanentError("X usage cap exceeded (monthly/product cap): alert, do not retry")
    return None


@dataclass(frozen=True, slots=True)
class XStream(Stream):
    term: str = ""


class XConnector(PollingConnector[XStream]):
    """Polls recent search per term with a ``since_id`` cursor."""

    type = "x"
    default_page_size = 100
    max_page_size = 100

    context_batch = 100  # /2/tweets takes up to 100 ids

    async def fetch_context(self, ids: Sequence[str]) -> ContextResult:
        """``/2/tweets?ids=…``; an id the answer leaves out (named in its ``errors``) is missing."""
        out = ContextResult()
        wanted = [i for i in ids if i.isdigit()]
        out.missing.update(i for i in ids if i not in wanted)
        if wanted:
            token = self.env_secret(self.settings.token_env)
            payload, _ = await self.http.get_json(
                f"{self.settings.base()}/2/tweets", headers={"Authorization": f"Bearer {token}"} if token else {},
                params={"ids": ",".join(wanted), "expansions": "author_id", "tweet.fields": "created_at",
                        "user.fields": "username,name"}, classify=_classify)
            if not isinstance(payload, dict):
                raise PayloadError("expected a JSON object")
            users = _users(payload)
            tweets = [t for t in payload.get("data") or [] if isinstance(t, dict)]
            for tweet in tweets:
                key = str(tweet.get("id"))
                found, _ = parse_items([tweet], self.name, lambda t: tweet_to_mention(t, source=self.name, users=users))
                if key in wanted and found:
                    out.posts[key] = post_of(key, found[0])
            out.missing.update(i for i in wanted if i not in out.posts)
        return out

    def streams(self) -> list[XStream]:
        return [XStream(key=term, label=term, term=term) for term in self.settings.query]

    async def poll_stream(self, stream: XStream, state: dict[str, Any], started: datetime) -> StreamOutcome:
        token = self.env_secret(self.settings.token_env)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        since_id = state.get("since_id")
        params = {
            "query": stream.term, "max_results": str(max(10, self.page_size)),
            "tweet.fields": TWEET_FIELDS, "expansions": EXPANSIONS, "user.fields": USER_FIELDS,
        }
        if since_id and snowflake_time(since_id) > started - _SEARCH_WINDOW + timedelta(minutes=10):
            params["since_id"] = since_id
        elif since_id:
            params["start_time"] = to_iso(started - _SEARCH_WINDOW + timedelta(hours=1))
        pager = TokenPaginator("next_token", max_pages=1 if since_id is None else self.max_pages)
        mentions: list[Mention] = []
        rejects: list[Reject] = []
        first_newest: str | None = None
        pages = 0
        while not pager.done:
            payload, _ = await self.http.get_json(
                f"{self.settings.base()}/2/tweets/search/recent", params={**params, **pager.params()},
                headers=headers, classify=_classify,
            )
            pages += 1
            page, page_rejects = parse_search_recent(payload, source=self.name)
            mentions.extend(page)
            rejects.extend(page_rejects)
            meta = payload.get("meta") or {}
            if pages == 1:
                ids = [str(t.get("id")) for t in payload.get("data") or [] if isinstance(t, dict) and t.get("id")]
                first_newest = meta.get("newest_id") or (max(ids, key=id_key) if ids else None)
            pager.advance(meta.get("next_token"))
        newest = since_id
        if first_newest and (newest is None or id_key(str(first_newest)) > id_key(str(newest))):
            newest = str(first_newest)
        return StreamOutcome(mentions, {"since_id": newest} if newest else {}, rejects, pages,
                             pager.capped and since_id is not None)
