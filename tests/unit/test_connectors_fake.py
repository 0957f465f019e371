"""The in-memory twin honours the connector contract."""
from __future__ import annotations

from connectors.base import Connector
from connectors.errors import TransientError
from connectors.fake import FakeClock, FakeConnector, make_mention


async def test_pages_follow_cursor() -> None:
    """Each poll with the returned cursor gives the next page, then nothing."""
    fake = FakeConnector("src", pages=[[make_mention("1"), make_mention("2")], [make_mention("3")]])
    assert isinstance(fake, Connector)
    first = await fake.poll(None)
    second = await fake.poll(first.cursor)
    third = await fake.poll(second.cursor)
    assert [m.external_id for m in first.mentions] == ["1", "2"] and first.mentions[0].source == "src"
    assert [m.external_id for m in second.mentions] == ["3"]
    assert third.mentions == [] and third.cursor == second.cursor


async def test_old_cursor_repeats_and_failures_raise() -> None:
    """Polling with an old cursor repeats the page (at-least-once); planned failures raise."""
    fake = FakeConnector(pages=[[make_mention("1")]], failures={1: TransientError("down")})
    first = await fake.poll(None)
    try:
        await fake.poll(first.cursor)
    except TransientError:
        pass
    else:
        raise AssertionError("expected the planned failure")
    again = await fake.poll(None)
    assert [m.external_id for m in again.mentions] == ["1"] and fake.calls == 3


async def test_fake_clock_sleep_advances_time() -> None:
    """FakeClock.sleep moves time without waiting and records the sleeps."""
    clock = FakeClock()
    start = clock.now()
    await clock.sleep(90)
    assert (clock.now() - start).total_seconds() == 90 and clock.sleeps == [90]
