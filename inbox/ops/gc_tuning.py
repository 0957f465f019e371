"""Garbage-collector settings for a long-running `serve` process.

CPython's full (generation 2) collection walks every tracked object: in a serving process that
is well over a hundred thousand objects (the model, the modules, the templates, the caches), so
each one holds the event loop, and every request waiting on it, for tens of milliseconds
(bench/api.py shows them in the API's p99). Once the process has started, its objects live as
long as it does, so they are moved out of the collector's sight (``gc.freeze``). A full
collection then walks only what was created since."""
from __future__ import annotations

import gc
import time

import structlog

__all__ = ["freeze_startup_objects"]

log = structlog.get_logger(__name__)


def freeze_startup_objects() -> int:
    """Collect once, then freeze what is left (``gc.freeze``); returns how many objects."""
    t0 = time.perf_counter()
    gc.collect()
    gc.freeze()
    n = gc.get_freeze_count()
    log.info("gc_startup_frozen", objects=n, ms=round((time.perf_counter() - t0) * 1000, 1))
    return n
