"""inbox.ops.gc_tuning: a started `serve` process freezes its startup objects, so that a full garbage
collection walks only what was created since (77-103 ms pauses of the event loop otherwise)."""
from __future__ import annotations

import gc

from inbox.ops.gc_tuning import freeze_startup_objects


def test_freeze_moves_live_objects_out_of_the_collectors_sight() -> None:
    keep = [{"n": i} for i in range(10_000)]
    try:
        n = freeze_startup_objects()
        # frozen objects that die afterwards (a logging cache entry, another thread's garbage)
        # leave the permanent generation, so the count can only have fallen since the call
        assert len(keep) <= gc.get_freeze_count() <= n
        before = len(gc.get_objects(generation=2))
        assert all(id(x) not in {id(o) for o in gc.get_objects(generation=2)} for x in keep[:5])
        gc.collect()
        assert len(gc.get_objects(generation=2)) <= before + 1000  # the frozen ones are not back
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_the_app_freezes_after_its_contexts_start() -> None:
    from inbox.settings import Settings
    from inbox.web.app import create_app
    app = create_app(Settings(), role="web")
    names = [getattr(h, "__name__", "") for h in app.on_startup]
    assert names[-1] == "freeze_gc"
    # aiohttp runs the cleanup contexts (services, model, scheduler) from the first startup handler
    assert names.index("freeze_gc") > 0
