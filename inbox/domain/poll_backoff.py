"""When to poll a source again after a poll that failed.

A source that keeps failing (a server down, a feed gone, credentials refused) is asked again after
its interval the first time, then after twice, four times, ... that interval, up to a cap: a failing
source costs its platform and our logs less the longer it fails, and one success brings the normal
interval back (the failure count is reset when a batch is stored). A refusal that retrying cannot
fix (authentication, a missing resource) is capped later than a transient one. The cap never
shortens the source's own interval.
"""
from __future__ import annotations

from datetime import timedelta

__all__ = ["TRANSIENT_CAP", "PERMANENT_CAP", "retry_delay"]

TRANSIENT_CAP = timedelta(minutes=15)
PERMANENT_CAP = timedelta(hours=1)


def retry_delay(interval: timedelta, failures: int, *, permanent: bool) -> timedelta:
    """The wait before the next poll of a source with ``failures`` consecutive failed polls (this one
    included) that is polled every ``interval``."""
    cap = max(interval, PERMANENT_CAP if permanent else TRANSIENT_CAP)
    if failures <= 1:
        return interval
    doublings = min(failures - 1, 20)  # 2**20 intervals is past any cap; keeps the product small
    grown: timedelta = interval * (2 ** doublings)
    return min(grown, cap)
