"""The background refiner: a second, slower look at items the model routed, before anybody works them.

At ingest the n-gram model routes every mention at once (tens of thousands a second).  The refiner
then takes new, unclaimed, never-transferred items whose routing the model decided (least confident
first), leaves those the model was sure of (confidence at or above the refiner head's ``band``,
0.95: the blend changes no label there) as they are, scores the others with the blend of that model
and a sentence encoder (routing_models.refine: better on sources the model has not seen, about 1.5 ms
of CPU a mention), and routes them again with the same router and rules.  When the team changes, the item
moves (SLA due times recomputed for the new team from the item's creation), a ``rerouted`` event
records it, and the routing decision is rewritten with the refined probabilities, keeping the first
routing inside its explanation (one decision per mention stays the rule).  Every candidate is marked
with ``refined_at`` whatever the outcome, so each item is looked at once.

Items that a rule routed, wordless ones, spam and anything an agent has claimed, touched or
transferred are never changed: people and rules win over the model.  The final UPDATE re-checks
those conditions, so an agent's claim between the scoring and the write wins too, and with several
instances on one PostgreSQL a candidate is applied by one of them only.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no type hints

from inbox.domain import sla_calendar
from inbox.domain.clock import Clock
from inbox.domain.router import MentionFacts, Router
from inbox.domain.types import Decision, Prediction
from inbox.ingest.classifier import ClassifierHolder
from inbox.settings import Settings
from inbox.storage.engine import snapshot_reader
from inbox.storage.repo import refine_queue as rrepo

__all__ = ["Refiner", "RefineResult", "EncoderSource", "import_encoder_libraries"]

log = structlog.get_logger(__name__)


@dataclass
class RefineResult:
    looked_at: int = 0          # candidates marked refined_at
    rescored: int = 0           # scored by the blend
    sure: int = 0               # left as routed: the model was at least as sure as its head's band
    rerouted: int = 0           # moved to another team
    item_ids: list[int] = field(default_factory=list)  # items whose row changed (live updates)
    moves: list[tuple[str, str]] = field(default_factory=list)  # (from team, to team) of each rerouted item
    skipped: str | None = None  # why nothing ran: no refiner head, no encoder, disabled

    def summary(self) -> dict[str, Any]:
        return {"looked_at": self.looked_at, "rescored": self.rescored, "sure": self.sure, "rerouted": self.rerouted,
                **({"skipped": self.skipped} if self.skipped else {})}

    def add(self, other: RefineResult) -> None:
        self.looked_at += other.looked_at
        self.rescored += other.rescored
        self.sure += other.sure
        self.rerouted += other.rerouted
        self.item_ids += other.item_ids
        self.moves += other.moves
        self.skipped = other.skipped


def import_encoder_libraries() -> bool:
    """Import the encoder's libraries (onnx, onnxruntime, sentencepiece); False when one is missing.
    Importing onnx's C extension holds the GIL for about half a second, which a worker thread does not
    hide from the event loop: a process that will run the refiner calls this before it serves."""
    try:
        import onnx.helper  # noqa: F401  (what routing_models.encoder_graph builds the graph with)
        import onnx.numpy_helper  # noqa: F401
        import onnxruntime  # type: ignore[import-untyped]  # noqa: F401  ships no type hints
        import sentencepiece  # noqa: F401
    except ImportError:
        return False
    return True


class EncoderSource:
    """Loads the sentence encoder once, on first use, in a worker thread; remembers a failure so the
    job does not retry a missing or tampered file every few seconds (a restart retries). Its libraries
    are imported before serving (:func:`import_encoder_libraries`), because importing them stalls the
    event loop even from a thread; building the graph and the session then leaves the loop free."""

    def __init__(self, folder: str = "") -> None:
        self.folder = folder
        self._encoder: Any = None
        self.error: str | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Any:
        if self._encoder is not None or self.error is not None:
            return self._encoder
        async with self._lock:
            if self._encoder is None and self.error is None:
                from routing_models.encoder_use import try_load
                self._encoder, self.error = await asyncio.to_thread(try_load, self.folder)
                if self._encoder is not None:
                    log.info("encoder_loaded", folder=self.folder or "(package)")
                else:
                    log.warning("encoder_unavailable", error=self.error)
        return self._encoder


def _predict(model: Any, texts: list[str], encoder: Any, one_core: bool) -> list[Any]:
    """The blend; ``one_core``: BLAS on one thread, for the background job, which must leave the other
    core to the event loop and the ingest path (OpenBLAS would otherwise spread each product over all
    cores). In the foreground (an import waiting for it) BLAS runs as configured, on every core."""
    if not one_core:
        return list(model.predict_refined(texts, encoder))
    with threadpool_limits(limits=1, user_api="blas"):
        return list(model.predict_refined(texts, encoder))


def _eligible(decision: dict[str, Any] | None) -> bool:
    """The model (not a rule) decided this item's team, on words, and it was queued for work."""
    if not decision or decision.get("action") != "route" or not decision.get("model_version"):
        return False
    expl = decision.get("explanation") or {}
    if expl.get("decided_by") != "model":
        return False
    return "min_words" not in (expl.get("triage") or {})


class Refiner:
    """``run_once()`` refines up to ``settings.refiner.batch_size`` items (see the module docstring)."""

    def __init__(self, engine: Any, settings: Settings, classifier: ClassifierHolder, router: Router, clock: Clock,
                 encoder: EncoderSource, publish: Callable[[list[int]], None] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.classifier = classifier
        self.router = router
        self.clock = clock
        self.encoder = encoder
        self.publish = publish

    async def refine_items(self, ids: list[int], limit: int) -> RefineResult:
        """Refine up to ``limit`` of these items now, in the foreground and on every core (``import``
        runs it on what it just brought in, so that its result is the routing people will see);
        items past ``limit`` are left to the background refiner."""
        total = RefineResult()
        chunk = max(self.settings.refiner.batch_size, 128)  # the encoder batches texts of similar length
        ids = ids[:limit]
        for start in range(0, len(ids), chunk):
            total.add(await self.run_once(chunk, among=ids[start:start + chunk], foreground=True))
            if total.skipped:
                break
        return total

    async def run_once(self, limit: int | None = None, *, among: list[int] | None = None,
                       foreground: bool = False) -> RefineResult:
        """One batch of the least confident unrefined items (``among``: only these ids); ``foreground``
        lets the encoder use every core instead of one."""
        res = RefineResult()
        if not self.settings.refiner.enabled:
            res.skipped = "disabled"
            return res
        model: Any = self.classifier.model  # a routing_models Classifier (predict_refined, metadata)
        if getattr(model, "refiner", None) is None:
            res.skipped = f"model {model.version} has no refiner head"
            return res
        encoder = await self.encoder.get()
        if encoder is None:
            res.skipped = f"encoder unavailable: {self.encoder.error}"
            return res
        from routing_models.refine import head_matches  # local: scikit-learn loads with the model, not at import
        if not head_matches(model.refiner, encoder):
            res.skipped = (f"model {model.version}'s refiner head was fitted with another encoder "
                           f"({model.refiner.get('encoder') or 'unnamed'}): retrain it")
            return res
        limit = limit or self.settings.refiner.batch_size
        async with self.engine.begin() as conn:
            ids = await rrepo.take(limit, self.clock.now(), conn=conn, among=among)
        if not ids:
            return res
        async with snapshot_reader(self.engine).connect() as conn:
            candidates = await rrepo.candidates(ids, conn=conn)
        res.looked_at = len(ids)
        todo = [c for c in candidates if c["untouched"] and _eligible(c["decision"])]
        # above the head's band the blend would not change the label (routing_models/refine.py, "The band")
        band = float(model.refiner.get("band", 1.0))
        res.sure = sum(1 for c in todo if float(c["decision"].get("confidence") or 0.0) >= band)
        todo = [c for c in todo if float(c["decision"].get("confidence") or 0.0) < band]
        preds: list[Prediction] = []
        if todo:
            raw = await asyncio.to_thread(_predict, model, [c["text"] for c in todo], encoder, not foreground)
            preds = [Prediction(label=p.label, confidence=float(p.confidence),
                                probabilities={k: float(v) for k, v in p.probabilities.items()},
                                model_version=model.version) for p in raw]
        now = self.clock.now()
        changes = [self._change(c, p, now) for c, p in zip(todo, preds, strict=True)]
        async with self.engine.begin() as conn:
            for cand, (values, decision, event) in zip(todo, changes, strict=True):
                if not await rrepo.apply(cand["id"], values, conn=conn):
                    continue  # claimed, touched or transferred meanwhile: the people's action wins
                res.rescored += 1
                if decision is not None:
                    await rrepo.update_decision(cand["decision"]["id"], decision, conn=conn)
                if event is not None:
                    res.rerouted += 1
                    res.moves.append((event["data"]["from"], event["data"]["to"]))
                    await rrepo.insert_event({**event, "item_id": cand["id"], "created_at": now}, conn=conn)
                if values.keys() - {"refined_at"}:
                    res.item_ids.append(cand["id"])
        if res.item_ids and self.publish is not None:
            self.publish(res.item_ids)
        log.info("refined", **res.summary(), model_version=model.version)
        return res

    def _change(self, cand: dict[str, Any], p: Prediction, now: datetime
                ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
        """(item values to write, the new decision row or None, the rerouted event or None) for one candidate."""
        facts = MentionFacts(text=cand["text"], source=cand["source"], platform=cand["platform"],
                             author=cand["author_handle"], lang=cand["lang"], reach=cand["author_followers"])
        d: Decision = self.router.decide(facts, p)
        values: dict[str, Any] = {"refined_at": now}
        if d.action != "route" or d.team is None:
            # a rule would spam or ignore it on the refined label: leave the item as the people see it
            return values, None, None
        before = cand["decision"]
        blend = getattr(self.classifier.model, "metadata", {}).get("refiner") or {}
        expl = dict(d.explanation or {})
        expl["refined"] = {"by": "n-gram model + sentence encoder blend", "encoder_weight": blend.get("weight"),
                           "at": now.isoformat(),
                           "first": {"team": cand["team"], "label": before.get("label"),
                                     "confidence": before.get("confidence"),
                                     "probabilities": before.get("probabilities"), "reason": before.get("reason")}}
        values.update(label=d.label, confidence=d.confidence, watchers=d.watchers, updated_at=now)
        event: dict[str, Any] | None = None
        if d.team != cand["team"]:
            first_due, resolve_due = sla_calendar.due_times(cand["created_at"], self.settings.team(d.team))
            priority = d.priority if cand["crisis_id"] is None else max(d.priority, cand["priority"])
            values.update(team=d.team, priority=priority, first_response_due=first_due, resolve_due=resolve_due)
            event = {"kind": "rerouted", "actor": "refiner", "team": d.team,
                     "data": {"from": cand["team"], "to": d.team, "label": d.label, "confidence": d.confidence,
                              "first_label": before.get("label"), "first_confidence": before.get("confidence")}}
        decision = {"team": d.team, "label": d.label, "confidence": d.confidence, "probabilities": d.probabilities,
                    "model_version": d.model_version, "rule": d.rule, "reason": "refined: " + d.reason,
                    "watchers": d.watchers, "priority": values.get("priority", cand["priority"]),
                    "action": d.action, "explanation": expl}
        return values, decision, event
