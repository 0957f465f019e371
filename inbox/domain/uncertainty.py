"""Which open items the model is least sure of, for a lead to confirm or correct: the smallest
margin between the two most probable labels first (entropy breaks ties), at most one item per
cluster of near-duplicate mentions so that ten copies of one post cost the lead one answer."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from inbox.domain.near_duplicates import near_duplicate_groups

__all__ = ["margin", "entropy", "least_sure"]


def margin(probabilities: Mapping[str, float] | None, confidence: float | None = None) -> float:
    """Top-1 minus top-2 probability; without stored probabilities, twice the confidence minus one
    (the margin of a two-way split), 1.0 when nothing is known."""
    values = sorted((float(p) for p in (probabilities or {}).values()), reverse=True)
    if len(values) >= 2:
        return values[0] - values[1]
    if values:
        return values[0]
    return 2 * float(confidence) - 1 if confidence is not None else 1.0


def entropy(probabilities: Mapping[str, float] | None) -> float:
    """Shannon entropy (nats) of the stored probabilities; 0.0 without any."""
    return -sum(float(p) * math.log(float(p)) for p in (probabilities or {}).values() if float(p) > 0)


def least_sure(rows: Iterable[Mapping[str, Any]], limit: int) -> list[dict[str, Any]]:
    """``rows`` (id, text, probabilities, confidence, cluster_key) ordered by margin then entropy
    (highest first), at most one per near-duplicate group (a shared cluster_key or near-identical
    text, inbox.domain.near_duplicates); each gets its margin."""
    scored = [{**r, "margin": margin(r.get("probabilities"), r.get("confidence"))} for r in rows]
    group = [0] * len(scored)
    for g, members in enumerate(near_duplicate_groups([str(r.get("text") or "") for r in scored],
                                                      keys=[r.get("cluster_key") for r in scored])):
        for i in members:
            group[i] = g
    order = sorted(range(len(scored)), key=lambda i: (scored[i]["margin"], -entropy(scored[i].get("probabilities")),
                                                      scored[i]["id"]))
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    for i in order:
        if group[i] in seen:
            continue
        seen.add(group[i])
        out.append(scored[i])
        if len(out) >= limit:
            break
    return out
