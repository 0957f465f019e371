"""`model promote` (model_lifecycle.promote_version) with the real default model and encoder: a candidate
whose first labels are identical but whose refiner head routes worse is refused, which the gate on
the first labels alone let through; an equal candidate is promoted. Needs the bundled model."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inbox.errors import Conflict
from inbox.ingest.classifier import default_model_path
from inbox.ops import model_lifecycle
from inbox.storage.repo import model_versions
from routing_models import registry
from routing_models.data import SEED_PATH
from tests.conftest import IN_CI

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the gate is not about the back end


def _held_out(tmp_path: Path, n: int = 80) -> str:
    """Every 20th row of the seed corpus: small enough to embed in a few seconds."""
    rows = [json.loads(line) for line in SEED_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    path = tmp_path / "held.jsonl"
    path.write_text("".join(json.dumps({"text": r["text"], "label": r["label"]}) + "\n" for r in rows[::20][:n]))
    return str(path)


async def _register(svc: Any, version: str, path: Path, *, active: bool = False) -> None:
    async with svc.engine.begin() as conn:
        await model_versions.register(version, str(path), {}, conn=conn, now=svc.clock.now())
        if active:
            await model_versions.promote(version, conn=conn, now=svc.clock.now())


async def _active(svc: Any) -> str:
    async with svc.engine.connect() as conn:
        return str((await model_versions.active_version(conn=conn))["version"])


async def test_a_worse_refiner_head_is_not_promoted(services: Any, tmp_path: Path) -> None:
    default = default_model_path()
    if not default.exists():
        if IN_CI:
            pytest.fail(f"{default} is missing but CI=true")
        pytest.skip("default model not built yet")
    worse = registry.load(default)
    assert worse.refiner is not None
    worse.refiner = {**worse.refiner, "coef": -np.asarray(worse.refiner["coef"]), "weight": 0.9}
    worse_path = registry.save(worse, tmp_path / "cand", name="worse")
    same_path = registry.save(registry.load(default), tmp_path / "cand", name="same")
    await _register(services, "current", default, active=True)
    await _register(services, "worse", worse_path)
    await _register(services, "same", same_path)
    held = _held_out(tmp_path)

    with pytest.raises(Conflict) as e:
        await model_lifecycle.promote_version(services, "worse", held_out=held)
    assert "on the labels items end up with" in str(e.value)
    assert await _active(services) == "current"
    # its first labels alone are exactly the current model's: only the second stage tells them apart
    assert (
        model_lifecycle.evaluate_file(worse_path, held)["macro_f1"]
        == model_lifecycle.evaluate_file(default, held)["macro_f1"]
    )

    result = await model_lifecycle.promote_with_gate(services, "same", held_out=held)
    assert await _active(services) == "same"
    # the figures the gate compared: both stages, both versions, on the held-out file
    gate = result["gate"]
    assert (result["promoted"], gate["held_out"], gate["current"], gate["candidate"]) == (True, held, "current", "same")
    assert set(gate["macro_f1"]) == {"final", "first"}
    for stage in ("final", "first"):
        assert gate["macro_f1"][stage]["candidate"] == gate["macro_f1"][stage]["current"] > 0.5
    assert await model_lifecycle.promote_version(services, "worse", held_out=held, force=True)
    assert await _active(services) == "worse"
