"""Acceptance on both back ends: importing ../shared/data/mentions/dev_crosssource.jsonl (ids and texts
only, languages detected) with the real default model and the shipped config, with the refiner's
second look (the model blended with the sentence encoder) that `import` gives its items, routes at
least 84% of the non-triage items to the team of their label and at most 15% to triage (87.1% at
9.7%: the multilingual second look was chosen by leave-one-source-out, where it is better, over
this file, where the English encoder it replaced routed 88.1%; docs/classifier.md). Needs ../shared and the
bundled model (routing_models/artifacts/default.skops): skipped when missing, failed under CI=true."""
from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import pytest

from inbox.ingest.classifier import ClassifierHolder, default_model_path, load_classifier
from inbox.ingest.file_import import read_jsonl
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts
from inbox.storage.repo.export_rows import export_rows
from tests.conftest import IN_CI, shared_dir

pytestmark = pytest.mark.slow

MIN_TEAM_ACCURACY = 0.84
MAX_TRIAGE = 0.15


def _model_path() -> Any:
    path = default_model_path()
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing but CI=true")
        pytest.skip(f"default model {path} not built yet")
    return path


async def test_dev_crosssource_routes_to_the_label_team(db_url: str, settings_factory: Any, clock: Any) -> None:
    """>= 88% of non-triage items land in their label's team; <= 15% go to triage."""
    data = shared_dir("data/mentions") / "dev_crosssource.jsonl"
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = {r["id"]: r["label"] for r in rows}
    stripped = "".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows).encode()
    settings = settings_factory(db_url)
    svc = await Services.open(settings, clock=clock)
    try:
        await migrate.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=clock.now())
        svc.classifier = ClassifierHolder(load_classifier(_model_path()))
        pipe = await svc.ready_pipeline()
        ids: list[int] = []
        for batch, rejects, _read in read_jsonl(io.BytesIO(stripped), batch_size=500):
            ids += (await pipe.ingest(batch, rejects)).item_ids
        async with svc.engine.connect() as conn:
            first = [r async for r in export_rows(conn=conn)]
        # then the refiner's second look, as `social-inbox import` gives it before it returns
        refiner = await svc.ready_refiner()
        res = await refiner.refine_items(ids, settings.refiner.on_import)
        assert res.skipped is None, res.skipped
        assert res.looked_at == len(rows)
        assert (await refiner.run_once()).looked_at == 0  # nothing left for the background job
        async with svc.engine.connect() as conn:
            routed = [r async for r in export_rows(conn=conn)]
    finally:
        await svc.close()
    assert len(routed) == len(rows)
    triage = settings.routing.triage_team
    teams = Counter(r["team"] for r in routed)
    placed = [r for r in routed if r["team"] != triage]
    right = sum(1 for r in placed if r["team"] == settings.routing.label_to_team[labels[r["external_id"]]])
    accuracy = right / len(placed)
    triage_rate = teams[triage] / len(routed)
    first_placed = [r for r in first if r["team"] != triage]
    first_right = sum(1 for r in first_placed if r["team"] == settings.routing.label_to_team[labels[r["external_id"]]])
    print(
        f"\ndev_crosssource: n={len(routed)} teams={dict(teams)} to-label-team={accuracy:.3f} "
        f"triage={triage_rate:.3f} threshold={settings.routing.confidence_threshold}; at ingest, before the "
        f"refiner: to-label-team={first_right / len(first_placed):.3f} triage={1 - len(first_placed) / len(first):.3f}"
    )
    assert accuracy >= MIN_TEAM_ACCURACY, f"{accuracy:.3f} of non-triage items in their label's team"
    assert triage_rate <= MAX_TRIAGE, f"{triage_rate:.3f} of items in triage"
