"""Reply writers for Reddit, X and YouTube. None of the three takes an idempotency key, so after a
crash each writer looks at the account's own recent replies before the outbox sends again.

Reddit: ``POST {base_url}/api/comment`` (form: ``api_type=json``, ``thing_id`` = the fullname
``t1_…``/``t3_…``, ``text``), OAuth bearer token. Reddit refuses some comments with 200 and
``json.errors`` (a locked thread, a deleted parent): that is a refusal with Reddit's reason. The
look after a crash: ``GET /api/v1/me``, then ``GET /user/{name}/comments``.

X: ``POST {base_url}/2/tweets`` with ``{"text", "reply": {"in_reply_to_tweet_id"}}``, a user-context
OAuth 2.0 token. The look: ``GET /2/users/me``, then ``GET /2/users/{id}/tweets`` with
``referenced_tweets``.

YouTube: ``POST {base_url}/youtube/v3/comments?part=snippet`` with ``snippet.parentId`` and
``snippet.textOriginal``, an OAuth token with the youtube.force-ssl scope. The look: ``GET
/youtube/v3/comments?part=snippet&parentId=…`` (``textOriginal`` is shown to the comment's author).
"""
from __future__ import annotations

from datetime import datetime

from ..errors import PermanentError
from .base import Posted, ReplyTarget, ReplyWriter, same_text

__all__ = ["RedditWriter", "XWriter", "YouTubeWriter"]


class RedditWriter(ReplyWriter):
    platform = "reddit"

    async def send(self, target: ReplyTarget) -> Posted:
        response = await self.post(f"{self.base}/api/comment", headers=self.bearer(),
                                   data={"api_type": "json", "thing_id": target.parent_id, "text": target.text})
        body = response.json().get("json") or {}
        errors = body.get("errors") or []
        if errors:
            reason = "; ".join(" ".join(str(x) for x in e[:2]) if isinstance(e, list) else str(e) for e in errors)
            raise PermanentError(f"Reddit refused the comment: {reason}"[:300], status=response.status)
        thing = ((body.get("data") or {}).get("things") or [{}])[0].get("data") or {}
        return Posted(str(thing.get("name") or f"t1_{thing['id']}"), _reddit_url(thing.get("permalink")))

    async def find_sent(self, target: ReplyTarget, since: datetime) -> Posted | None:
        me = await self.get(f"{self.base}/api/v1/me", headers=self.bearer())
        name = me.get("name") if isinstance(me, dict) else None
        if not name:
            return None
        listing = await self.get(f"{self.base}/user/{name}/comments", headers=self.bearer(),
                                 params={"limit": "50", "raw_json": "1"})
        for child in ((listing.get("data") or {}).get("children") or []) if isinstance(listing, dict) else []:
            data = child.get("data") if isinstance(child, dict) else None
            if isinstance(data, dict) and data.get("parent_id") == target.parent_id \
                    and same_text(data.get("body"), target.text):
                return Posted(str(data.get("name") or f"t1_{data.get('id')}"), _reddit_url(data.get("permalink")))
        return None


def _reddit_url(permalink: object) -> str | None:
    return f"https://www.reddit.com{permalink}" if isinstance(permalink, str) and permalink.startswith("/") else None


class XWriter(ReplyWriter):
    platform = "x"

    async def send(self, target: ReplyTarget) -> Posted:
        response = await self.post(f"{self.base}/2/tweets", headers=self.bearer(),
                                   json_body={"text": target.text, "reply": {"in_reply_to_tweet_id": target.parent_id}})
        tweet = response.json()["data"]
        return Posted(str(tweet["id"]), f"https://x.com/i/web/status/{tweet['id']}")

    async def find_sent(self, target: ReplyTarget, since: datetime) -> Posted | None:
        me = await self.get(f"{self.base}/2/users/me", headers=self.bearer())
        uid = (me.get("data") or {}).get("id") if isinstance(me, dict) else None
        if not uid:
            return None
        tweets = await self.get(f"{self.base}/2/users/{uid}/tweets", headers=self.bearer(),
                                params={"max_results": "50", "tweet.fields": "referenced_tweets,created_at"})
        for tweet in (tweets.get("data") or []) if isinstance(tweets, dict) else []:
            refs = {(r.get("type"), str(r.get("id")))
                    for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict)}
            if ("replied_to", target.parent_id) in refs and same_text(tweet.get("text"), target.text):
                return Posted(str(tweet["id"]), f"https://x.com/i/web/status/{tweet['id']}")
        return None


class YouTubeWriter(ReplyWriter):
    platform = "youtube"

    async def send(self, target: ReplyTarget) -> Posted:
        response = await self.post(f"{self.base}/youtube/v3/comments", headers=self.bearer(),
                                   params={"part": "snippet"},
                                   json_body={"snippet": {"parentId": target.parent_id, "textOriginal": target.text}})
        comment = response.json()
        return Posted(str(comment["id"]), None)

    async def find_sent(self, target: ReplyTarget, since: datetime) -> Posted | None:
        listing = await self.get(f"{self.base}/youtube/v3/comments", headers=self.bearer(),
                                 params={"part": "snippet", "parentId": target.parent_id, "maxResults": "100",
                                         "textFormat": "plainText"})
        for item in (listing.get("items") or []) if isinstance(listing, dict) else []:
            snippet = item.get("snippet") if isinstance(item, dict) else None
            if isinstance(snippet, dict) and same_text(snippet.get("textOriginal"), target.text):
                return Posted(str(item["id"]), None)
        return None
