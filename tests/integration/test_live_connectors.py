"""A running scheduler follows connectors edited live: a connector added through the admin path
gets its poll job, a changed one a new job, a removed one loses it; no restart."""
from __future__ import annotations

from typing import Any

from inbox.ops import live_config
from inbox.ops.scheduler import InboxScheduler


def _jobs(s: InboxScheduler) -> dict[str, float]:
    return {j.id: j.trigger.interval.total_seconds() for j in s.sched.get_jobs() if j.id.startswith("poll:")}


async def test_scheduler_follows_connectors_edited_live(services: Any) -> None:
    svc = services
    sched = InboxScheduler(svc, work=None)  # type: ignore[arg-type]
    sched.sync_connectors(svc.settings)
    svc.settings_listeners.append(sched.sync_connectors)
    before = _jobs(sched)
    entry = {"name": "live-news", "type": "rss", "feeds": ["https://example.org/a.xml"], "interval": "10m"}
    await live_config.change(svc, "connectors", [*live_config.document(svc.settings, "connectors"), entry],
                             actor="t")
    assert _jobs(sched) == {**before, "poll:live-news": 600.0}
    changed = {**entry, "interval": "1h"}
    await live_config.change(svc, "connectors", [*live_config.document(svc.file_settings, "connectors"), changed],
                             actor="t")
    assert _jobs(sched)["poll:live-news"] == 3600.0
    await live_config.rollback(svc, "connectors", actor="t", to_version=1)  # the seed: the file's connectors
    assert _jobs(sched) == before
