"""Bluesky: ``app.bsky.feed.searchPosts`` with ``sort=latest``.

Settings: ``query`` terms (Lucene-like syntax is passed through); ``base_url`` is the PDS or AppView
(default ``https://bsky.social``). Auth, optional: ``handle`` + ``app_password_env`` log in with
``com.atproto.server.createSession`` once and cache the tokens in memory (refreshed with
``refreshSession`` on ``ExpiredToken``; createSession is limited to ~10 a day), or ``token_env``
names a ready access token.

Cursor per term: ``{"watermark": "<max indexedAt>", "seen": {uri: epoch}}``. A poll asks for
``since = watermark - overlap`` (default 5 min) and follows ``cursor`` within the run only; the
overlap is absorbed by the seen set. A first run takes one page.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from .base import Mention, Reject
from .context import ContextResult, post_of
from .errors import ConnectorError, PayloadError, PermanentError
from .html import collapse_whitespace
from .http import HttpResponse
from .normalize import lenient_datetime, parse_datetime, parse_items, pick_created_at, require, require_text, to_iso
from .paging import TokenPaginator
from .polling import PollingConnector, SeenSet, Stream, StreamOutcome, clamp

__all__ = ["parse_search_posts", "post_to_mention", "BlueskyConnector"]

_LOGIN_BACKOFF = timedelta(hours=1)


def post_to_mention(post: dict[str, Any], *, source: str, fetched_at: datetime | None = None) -> Mention:
    """One ``postView`` → :class:`Mention`. ``createdAt`` is set by the client and can be anything:
    when it is not a date, ``indexedAt`` (then the fetch time) stands in, noted in ``provenance``."""
    uri = str(require(post, "uri"))
    record = require(post, "record")
    if not isinstance(record, dict):
        raise PayloadError("record must be an object")
    author: dict[str, Any] = post["author"] if isinstance(post.get("author"), dict) else {}
    rkey = uri.rstrip("/").rsplit("/", 1)[-1]
    # the repository the post lives in names its author when the view leaves the author out
    actor = author.get("did") or author.get("handle") or (uri.removeprefix("at://").split("/", 1)[0] or None)
    langs: list[Any] = record["langs"] if isinstance(record.get("langs"), list) else []
    reply: dict[str, Any] = record["reply"] if isinstance(record.get("reply"), dict) else {}
    provenance: dict[str, str] = {}
    created_at = pick_created_at(
        [("record.createdAt", record.get("createdAt")), ("indexedAt", post.get("indexedAt"))], fetched_at, provenance)
    return Mention(
        source=source,
        platform="bluesky",
        external_id=uri,
        text=require_text(_text(record, post, provenance)),
        url=f"https://bsky.app/profile/{actor}/post/{rkey}" if actor else None,
        author_handle=author.get("handle"),
        author_name=author.get("displayName") or None,
        author_followers=author.get("followersCount"),
        language=langs[0] if langs else None,
        created_at=created_at,
        reply_to_id=_ref(reply.get("parent")),
        thread_id=_ref(reply.get("root")),
        metrics={
            "replies": post.get("replyCount"),
            "reposts": post.get("repostCount"),
            "likes": post.get("likeCount"),
            "quotes": post.get("quoteCount"),
        },
        raw=post,
        provenance=provenance,
    )


def _alts(embed: Any) -> list[str]:
    """The alt texts of an embed's images, as a record holds them (``app.bsky.embed.images``) or
    as the view shows them (``#view``), also as the media of a record-with-media embed."""
    if not isinstance(embed, dict):
        return []
    alts: list[str] = []
    for part in (embed, embed.get("media")):
        images = part.get("images") if isinstance(part, dict) else None
        for image in images if isinstance(images, list) else []:
            raw = image.get("alt") if isinstance(image, dict) else None
            alt = collapse_whitespace(raw) if isinstance(raw, str) else ""
            if alt:
                alts.append(alt)
    return alts


def _text(record: dict[str, Any], post: dict[str, Any], provenance: dict[str, str]) -> str:
    """The post's text; for a post of images alone, their alt texts (a search matches those too),
    noted in ``provenance["text"]``."""
    text = collapse_whitespace(str(record.get("text") or ""))
    if text:
        return text
    alts = _alts(record.get("embed")) or _alts(post.get("embed"))
    if alts:
        provenance["text"] = "image alt text (the post has no text)"
    return "\n".join(alts)


def _ref(ref: Any) -> str | None:
    """The uri of a strong ref (``{"uri", "cid"}``), None for anything else."""
    uri = ref.get("uri") if isinstance(ref, dict) else None
    return uri if isinstance(uri, str) and uri else None


def _posts(payload: Any) -> list[Any]:
    posts = payload.get("posts") if isinstance(payload, dict) else None
    if not isinstance(posts, list):
        raise PayloadError("expected a searchPosts result with 'posts'")
    return posts


def parse_search_posts(
    payload: Any, *, source: str, fetched_at: datetime | None = None
) -> tuple[list[Mention], list[Reject]]:
    """A ``searchPosts`` response → (mentions, rejects)."""
    return parse_items(_posts(payload), source, lambda p: post_to_mention(p, source=source, fetched_at=fetched_at))


def _classify(response: HttpResponse) -> ConnectorError | str | None:
    """An HTML 403 from the CDN is transient; everything else takes the default rules."""
    if response.status == 403 and "html" in response.headers.get("Content-Type", ""):
        return "retry"
    return None


@dataclass(frozen=True, slots=True)
class BlueskyStream(Stream):
    term: str = ""


class BlueskyConnector(PollingConnector[BlueskyStream]):
    """Polls ``searchPosts`` per term, newest first, with a timestamp watermark."""

    type = "bluesky"
    default_page_size = 100
    max_page_size = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._access: str | None = self.env_secret(self.settings.token_env)
        self._refresh: str | None = None
        self._login_refused_at: datetime | None = None

    def streams(self) -> list[BlueskyStream]:
        return [BlueskyStream(key=term, label=term, term=term) for term in self.settings.query]

    async def _login(self) -> None:
        password = self.env_secret(self.settings.app_password_env)
        if not (self.settings.handle and password):
            return
        now = self.http.now()
        if self._login_refused_at and now - self._login_refused_at < _LOGIN_BACKOFF:
            raise PermanentError("Bluesky login was refused recently; not retrying yet (createSession ~10/day)",
                                 connector=self.name, status=401)
        try:
            payload, _ = await self._post_session(
                "com.atproto.server.createSession", {"identifier": self.settings.handle, "password": password}
            )
        except PermanentError:
            self._login_refused_at = now
            raise
        self._access, self._refresh = payload.get("accessJwt"), payload.get("refreshJwt")
        self.log.info("bluesky.session_created")

    async def _post_session(
        self, method: str, body: dict[str, Any] | None, token: str | None = None
    ) -> tuple[Any, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.request(
            "POST", f"{self.settings.base()}/xrpc/{method}", json_body=body, headers=headers,
        )
        return response.json(), response

    async def _search(self, params: dict[str, str]) -> Any:
        return await self._xrpc_get(f"{self.settings.base()}/xrpc/app.bsky.feed.searchPosts", params)

    context_batch = 25  # getPosts takes at most 25 uris

    async def fetch_context(self, ids: Sequence[str]) -> ContextResult:
        """``app.bsky.feed.getPosts`` for at:// uris; a uri the answer leaves out is missing."""
        out = ContextResult()
        uris = [u for u in ids if u.startswith("at://")]
        out.missing.update(u for u in ids if not u.startswith("at://"))
        if uris:
            query = urlencode([("uris", u) for u in uris])
            payload = await self._xrpc_get(f"{self.settings.base()}/xrpc/app.bsky.feed.getPosts?{query}", {})
            found, _ = parse_items(_posts(payload), self.name, lambda p: post_to_mention(p, source=self.name))
            out.posts = {m.external_id: post_of(m.external_id, m) for m in found if m.external_id in uris}
            out.missing.update(u for u in uris if u not in out.posts)
        return out

    async def _xrpc_get(self, url: str, params: dict[str, str]) -> Any:
        if self._access is None and self._refresh is None:
            await self._login()
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self._access}"} if self._access else {}
            try:
                payload, _ = await self.http.get_json(url, params=params, headers=headers, classify=_classify)
                return payload
            except PermanentError as exc:
                if exc.status not in (400, 401) or attempt or not (self._refresh or self.settings.handle):
                    raise
                await self._renew()
        raise AssertionError("unreachable")

    async def _renew(self) -> None:
        if self._refresh:
            try:
                payload, _ = await self._post_session("com.atproto.server.refreshSession", None, self._refresh)
                self._access, self._refresh = payload.get("accessJwt"), payload.get("refreshJwt")
                return
            except PermanentError:
                self._access = self._refresh = None
        await self._login()

    async def poll_stream(self, stream: BlueskyStream, state: dict[str, Any], started: datetime) -> StreamOutcome:
        watermark = parse_datetime(state.get("watermark"))
        seen = SeenSet(state.get("seen"))
        params = {"q": stream.term, "sort": "latest", "limit": str(self.page_size)}
        floor: datetime | None = None
        if watermark is not None:
            floor = watermark - self.overlap
            params["since"] = to_iso(floor)
        pager = TokenPaginator("cursor", max_pages=1 if watermark is None else self.max_pages)
        mentions: list[Mention] = []
        rejects: list[Reject] = []
        newest = watermark
        pages = 0
        while not pager.done:
            payload = await self._search({**params, **pager.params()})
            pages += 1
            raw = _posts(payload)
            page, page_rejects = parse_search_posts(payload, source=self.name, fetched_at=started)
            rejects.extend(page_rejects)
            all_old = bool(raw)
            for mention in page:
                indexed = lenient_datetime(mention.raw.get("indexedAt"))[0] or mention.created_at or started
                if floor is not None and indexed < floor:
                    continue
                all_old = False
                if mention.external_id in seen:
                    continue
                seen.add(mention.external_id, indexed.timestamp())
                mentions.append(mention)
                newest = indexed if newest is None or indexed > newest else newest
            if all_old or not raw:
                break
            pager.advance(payload.get("cursor"))
        new_mark = clamp(newest, started) if newest else None
        state_out: dict[str, Any] = {}
        if new_mark is not None:
            state_out = {
                "watermark": to_iso(new_mark),
                "seen": seen.dump(
                    limit=self.seen_limit, floor=(new_mark - self.overlap - timedelta(seconds=1)).timestamp()
                ),
            }
        return StreamOutcome(mentions, state_out, rejects, pages, pager.capped and watermark is not None)
