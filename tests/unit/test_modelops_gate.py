"""The promotion gate (inbox.ops.model_lifecycle.gate) compares both stages of routing: the labels items end up
with (after the refiner's second look) and the labels they get at ingest."""
from __future__ import annotations

from typing import Any

import pytest

from inbox.errors import Conflict
from inbox.ops.model_lifecycle import gate


def _refined(final: float, first: float) -> dict[str, Any]:
    return {"stage": "refined", "macro_f1": final, "fast": {"macro_f1": first}}


def _fast(f1: float) -> dict[str, Any]:
    return {"stage": "fast", "macro_f1": f1}


@pytest.mark.parametrize("current, candidate", [
    (None, _fast(0.1)),                              # nothing active yet
    (_refined(0.84, 0.80), _refined(0.84, 0.80)),    # as good
    (_refined(0.84, 0.80), _refined(0.86, 0.81)),    # better on both
    (_fast(0.80), _fast(0.80)),
    (_fast(0.80), _refined(0.85, 0.80)),             # gains a head, first labels as good
])
def test_as_good_or_better_on_both_stages_passes(current: Any, candidate: dict[str, Any]) -> None:
    gate(current, candidate)


@pytest.mark.parametrize("current, candidate, what", [
    (_refined(0.84, 0.80), _refined(0.83, 0.81), "end up with"),   # a worse head: the old gate let it by
    (_refined(0.84, 0.80), _refined(0.85, 0.79), "at ingest"),
    (_refined(0.84, 0.80), _fast(0.80), "end up with"),            # loses its head: routes worse in the end
    (_fast(0.80), _fast(0.79), "end up with"),
])
def test_worse_on_either_stage_is_refused(current: dict[str, Any], candidate: dict[str, Any], what: str) -> None:
    with pytest.raises(Conflict) as e:
        gate(current, candidate)
    assert what in str(e.value) and "--force" in str(e.value)


def test_tolerance() -> None:
    gate(_refined(0.84, 0.80), _refined(0.835, 0.80), tolerance=0.01)
