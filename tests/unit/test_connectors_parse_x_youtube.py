"""Pure parse functions of X and YouTube."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.replay import SAMPLES_DIR
from connectors.x import parse_search_recent, snowflake_time
from connectors.youtube import parse_comment_threads, parse_video_search

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "connectors"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_x_tweet_with_user_and_expanded_link() -> None:
    """includes.users gives handle and followers; t.co links are expanded; entities decoded."""
    mentions, _ = parse_search_recent(load("x_search.json"), source="x")
    tweet = mentions[0]
    assert tweet.text == "Lumetta Duetto & beans https://marta.example/duetto"
    assert tweet.author_handle == "marta" and tweet.author_followers == 48200
    assert tweet.url == "https://x.com/marta/status/2029444295685046275"
    assert tweet.metrics == {"reposts": 4, "replies": 1, "likes": 30, "quotes": 0, "views": 900}


def test_x_retweets_are_reposts() -> None:
    """referenced_tweets 'retweeted' and a bare 'RT @' both mark a repost; und/qme are no language."""
    mentions, _ = parse_search_recent(load("x_search.json"), source="x")
    rt, bare = mentions[1], mentions[2]
    assert rt.is_repost and rt.original_external_id == "2029444295685046275" and rt.language is None
    assert bare.is_repost and bare.original_external_id is None and bare.language is None
    assert bare.url == "https://x.com/i/web/status/2029485064319926300"


def test_x_edit_keyed_by_first_id_reply_and_quote() -> None:
    """An edited tweet is keyed by its first id; replied_to gives the parent; quotes are not reposts."""
    mentions, rejects = parse_search_recent(load("x_search.json"), source="x")
    edited = mentions[3]
    assert edited.external_id == "2029500000000000001" and edited.edited_at is not None
    assert edited.reply_to_id == "2029400000000000000" and not edited.is_repost
    assert edited.thread_id == "2029400000000000000"
    assert len(rejects) == 1 and rejects[0].position == 4


def test_snowflake_time() -> None:
    """Tweet ids carry their creation time."""
    assert snowflake_time("2029444295685046275").replace(microsecond=0) == datetime(2026, 3, 5, 6, 30, tzinfo=UTC)


def test_x_tweet_with_a_junk_created_at_takes_its_ids_time() -> None:
    """created_at that is not a date (or missing) gives way to the time the id was minted, noted in
    provenance; the tweet is stored, not dead-lettered. A good created_at is kept as it is."""
    users = {"includes": {"users": [{"id": "7", "username": "marta", "name": "Marta"}]}}
    tweets = [{"id": "2029444295685046275", "text": "Lumetta kettle", "author_id": "7", "created_at": "yesterday-ish"},
              {"id": "2029444295685046276", "text": "Lumetta again", "author_id": "7"},
              {"id": "2029444295685046277", "text": "Lumetta ok", "author_id": "7",
               "created_at": "2026-03-05T06:31:00.000Z"}]
    mentions, rejects = parse_search_recent({"data": tweets, **users}, source="x")
    assert rejects == [] and len(mentions) == 3
    junk, missing, good = mentions
    assert junk.created_at == snowflake_time("2029444295685046275")
    assert junk.provenance["created_at"].startswith("the id's snowflake time (created_at 'yesterday-ish'")
    assert missing.created_at == snowflake_time("2029444295685046276")
    assert missing.provenance["created_at"] == "the id's snowflake time"
    assert good.created_at == datetime(2026, 3, 5, 6, 31, tzinfo=UTC) and good.provenance == {}


def test_youtube_threads_and_replies() -> None:
    """textDisplay HTML is stripped; replies are mentions with parent and thread; bad threads reject."""
    mentions, rejects = parse_comment_threads(load("youtube_threads.json"), source="yt")
    top, reply = mentions
    assert top.text == "Buzzing & loud\non my Lumetta 0:01"
    assert top.url == "https://www.youtube.com/watch?v=LmT7aR1aQ0s&lc=UgT1"
    assert top.edited_at == datetime(2026, 3, 2, 19, tzinfo=UTC) and top.metrics == {"likes": 3, "replies": 1}
    assert reply.reply_to_id == "UgT1" and reply.thread_id == "UgT1" and reply.external_id == "UgT1.r1"
    assert len(rejects) == 1 and rejects[0].position == 1


def test_youtube_video_search_sample() -> None:
    """Video search results map videoId, title + description with entities decoded."""
    payload = json.loads((SAMPLES_DIR / "youtube" / "search_lumetta_videos.json").read_text())
    mentions, rejects = parse_video_search(payload, source="yt")
    assert not rejects and mentions[0].external_id == "LmT9fAct0ry"
    assert "boiler to box & testing" in mentions[0].text
