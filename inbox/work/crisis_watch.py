"""Crisis detection: a spike of near-duplicate mentions (one story copied, reposted, lightly
edited) or of one label's volume, against a rolling baseline.

Each run looks at the last ``window`` (default one hour) and the ``baseline_windows`` windows
before it (default 12). A count is a spike when it reaches ``min_count`` and exceeds
``mean + k * max(std, sqrt(mean), 1)`` of the baseline counts (the sqrt term is the Poisson noise
of a steady stream, so a flat baseline does not make every extra mention a spike).

1. Clusters: the window's mentions are grouped by near-duplication (MinHash LSH over word
   3-shingles confirmed by Jaccard, plus equal cluster_key: inbox.domain.near_duplicates); a group's baseline
   counts the earlier mentions that share its cluster keys.
2. Product safety: mentions that the safety rule (``safety_rule``, by default the config's
   "product-safety" rule) matches, ``min_safety_count`` or more of them naming one product
   (inbox.domain.safety): no baseline, since a handful of "it caught fire" about one product is a
   crisis whatever the usual volume.
3. Labels: the window's queue items per model label, leaving out items already linked to a
   crisis (so a near-duplicate storm is one crisis, not also a label crisis). Needs history: no
   label check until the database holds mentions older than the baseline.

A spike opens exactly ONE crisis: a ``crisis`` row (a partial unique index allows one open crisis
per subject, so concurrent instances cannot open two) plus a crisis queue item in the PR team (a
synthetic mention with source ``crisis``), links the related queue items of every team
(``crisis_id``, priority raised) and queues notifications. While a crisis is open, new related
mentions are linked to it; it closes after ``cooldown`` without a spike or a new related mention. Mentions dated
long before
they were fetched (backfills, imports of old data) are history, not a spike.
"""
from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from inbox.domain import sla_calendar
from inbox.domain.near_duplicates import near_duplicate_groups
from inbox.domain.router import text_rule
from inbox.domain.safety import product_groups
from inbox.storage.engine import reader
from inbox.storage.repo import crises as crepo
from inbox.storage.repo import items, mentions
from inbox.storage.tables import ItemStatus
from inbox.work import notifier

__all__ = ["CrisisConfig", "spike", "check_crises"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CrisisConfig:
    window: timedelta = timedelta(hours=1)
    baseline_windows: int = 12
    k: float = 3.0
    min_cluster_count: int = 8
    min_label_count: int = 20
    similarity: float = 0.5
    cooldown: timedelta = timedelta(hours=6)
    max_window_mentions: int = 20_000
    team: str | None = None          # default: the team of the "pr" label
    safety_rule: str | None = "product-safety"
    min_safety_count: int = 3

    @classmethod
    def from_settings(cls, settings: Any) -> CrisisConfig:
        """The ``[crisis]`` table of the settings (inbox.settings.CrisisSettings)."""
        c = getattr(settings, "crisis", None)
        return cls() if c is None else cls(**c.model_dump())


def spike(current: int, baseline: Sequence[int], *, k: float, min_count: int) -> tuple[bool, float, float, float]:
    """(is it a spike, baseline mean, baseline std, threshold). Pure."""
    mean = sum(baseline) / len(baseline) if baseline else 0.0
    std = math.sqrt(sum((b - mean) ** 2 for b in baseline) / len(baseline)) if baseline else 0.0
    threshold = max(float(min_count), mean + k * max(std, math.sqrt(mean), 1.0))
    return current >= threshold, round(mean, 3), round(std, 3), round(threshold, 3)


def _edges(now: datetime, cfg: CrisisConfig) -> list[datetime]:
    n = cfg.baseline_windows
    return [now - cfg.window * (n + 1 - i) for i in range(n + 2)]  # n baseline windows, then the current one


async def check_crises(svc: Any, config: CrisisConfig | None = None, *,
                       publish: Callable[[list[int]], Any] | None = None) -> dict[str, Any]:
    """One detection pass; returns what it opened, extended and closed."""
    cfg = config or CrisisConfig.from_settings(svc.settings)
    now = svc.clock.now()
    edges = _edges(now, cfg)
    ws = edges[-2]
    out: dict[str, Any] = {"opened": [], "extended": [], "closed": [], "linked": 0}
    changed: list[int] = []
    async with svc.engine.begin() as conn:
        out["closed"] = await crepo.close_quiet(now - cfg.cooldown, conn=conn, now=now)
    async with reader(svc.engine).connect() as conn:
        recent = await crepo.recent_mentions(ws, now + timedelta(microseconds=1), conn=conn,
                                             limit=cfg.max_window_mentions)
        already_open = await crepo.open_crises(conn=conn)
    # 1. near-duplicate clusters
    # pure Python over up to max_window_mentions texts (seconds for 20,000): in a worker thread, so
    # the event loop keeps serving requests and committing the batches that hold pool connections
    groups = await asyncio.to_thread(near_duplicate_groups, [m["text"] for m in recent], cfg.similarity,
                                     keys=[m["cluster_key"] for m in recent]) if recent else []
    for g in groups:
        keys = sorted({recent[i]["cluster_key"] for i in g if recent[i]["cluster_key"]})
        if not keys:
            continue
        if len(g) < cfg.min_cluster_count and _open_for_keys(already_open, keys) is None:
            continue  # the common case, decided without a transaction: a small group, no crisis
        # The counting reads scan the window's mentions: done on a reader, outside the write
        # transaction (on SQLite that holds the one write lock, and ingest would wait on it).
        # Opening twice is still impossible: the partial unique index decides inside the write.
        async with reader(svc.engine).connect() as conn:
            existing = _open_for_keys(await crepo.open_crises(conn=conn), keys)
            counts = await crepo.key_bucket_counts(keys, edges, conn=conn)
            current = max(len(g), counts[-1])
            is_spike, mean, std, thr = spike(current, counts[:-1], k=cfg.k, min_count=cfg.min_cluster_count)
            if existing is None and not is_spike:
                continue
            related = await crepo.key_items_since(keys, ws, conn=conn)
        top = Counter(recent[i]["cluster_key"] for i in g if recent[i]["cluster_key"]).most_common()
        canonical = sorted(k for k, c in top if c == top[0][1])[0]
        sample = recent[min(g, key=lambda i: recent[i]["id"])]["text"]
        async with svc.engine.begin() as conn:
            if existing is not None:  # still open? (another instance may have closed it)
                existing = await crepo.get_open(str(existing["subject"]), conn=conn)
                if existing is None and not is_spike:
                    continue
            cid: int | None = None
            if existing is None:
                cid = await _open(svc, conn, now, cfg, kind="cluster", subject=f"cluster:{canonical}", label=None,
                                  cluster_key=canonical, ws=ws, count=current, mean=mean, std=std, thr=thr,
                                  data={"keys": keys, "sample": sample[:500]}, changed=changed)
                if cid is None:  # another instance opened it a moment ago
                    existing = await crepo.get_open(f"cluster:{canonical}", conn=conn)
                    if existing is None:
                        continue
                else:
                    out["opened"].append(cid)
            if existing is not None:
                cid = int(existing["id"])
                data = dict(existing["data"] or {})
                data["keys"] = sorted(set(data.get("keys", [])) | set(keys))
                await crepo.touch(cid, conn=conn, now=now, count=current, data=data)
                out["extended"].append(cid)
            assert cid is not None
            ids = [recent[i]["id"] for i in g] + related
            linked = await _link(conn, cid, sorted(set(ids)), now)
            out["linked"] += len(linked)
            changed.extend(linked)
    await _safety(svc, cfg, recent, now, ws, out, changed)
    # 3. label volume, once the database has a baseline's worth of history
    async with reader(svc.engine).connect() as conn:
        first = await crepo.earliest_fetch(conn=conn)
        per_label = await crepo.label_bucket_counts(edges, conn=conn) if first is not None and first <= edges[0] else {}
    for label, counts in sorted(per_label.items()):
        is_spike, mean, std, thr = spike(counts[-1], counts[:-1], k=cfg.k, min_count=cfg.min_label_count)
        if not is_spike:
            continue
        subject = f"label:{label}"
        async with svc.engine.begin() as conn:
            cid = await _open(svc, conn, now, cfg, kind="label", subject=subject, label=label, cluster_key=None,
                              ws=ws, count=counts[-1], mean=mean, std=std, thr=thr, data={}, changed=changed)
            if cid is None:
                existing = await crepo.get_open(subject, conn=conn)
                if existing is None:
                    continue
                cid = existing["id"]
                await crepo.touch(cid, conn=conn, now=now, count=counts[-1])
                out["extended"].append(cid)
            else:
                out["opened"].append(cid)
            linked = await _link(conn, cid, await crepo.label_items_since(label, ws, conn=conn), now)
            out["linked"] += len(linked)
            changed.extend(linked)
    if out["opened"] or out["closed"] or out["linked"]:
        log.info("crisis_check", opened=out["opened"], extended=out["extended"], closed=out["closed"],
                 linked=out["linked"])
    if changed and publish is not None:
        publish(sorted(set(changed)))
    return out


async def _safety(svc: Any, cfg: CrisisConfig, recent: list[dict[str, Any]], now: datetime, ws: datetime,
                  out: dict[str, Any], changed: list[int]) -> None:
    """Open (or extend) one crisis per product that ``min_safety_count`` safety mentions name."""
    rule = next((r for r in svc.settings.rules if r.name == cfg.safety_rule), None)
    if rule is None or len(recent) < cfg.min_safety_count:
        return
    matches = text_rule(rule)
    hits = [m for m in recent if matches(m["text"])]
    if len(hits) < cfg.min_safety_count:
        return
    ignore = [*svc.settings.brand.names, *(rule.keywords or [])]
    groups = product_groups([m["text"] for m in hits], min_count=cfg.min_safety_count, ignore=ignore)
    for product, members in groups:
        subject = f"safety:{product}"[:96]
        ids = sorted(hits[i]["id"] for i in members)
        sample = hits[min(members, key=lambda i: hits[i]["id"])]["text"]
        async with svc.engine.begin() as conn:
            cid = await _open(svc, conn, now, cfg, kind="safety", subject=subject, label=None, cluster_key=None,
                              ws=ws, count=len(ids), mean=0.0, std=0.0, thr=float(cfg.min_safety_count),
                              data={"product": product, "sample": sample[:500]}, changed=changed)
            if cid is None:
                existing = await crepo.get_open(subject, conn=conn)
                if existing is None:
                    continue
                cid = int(existing["id"])
                await crepo.touch(cid, conn=conn, now=now, count=len(ids))
                out["extended"].append(cid)
            else:
                out["opened"].append(cid)
            linked = await _link(conn, cid, ids, now)
            out["linked"] += len(linked)
            changed.extend(linked)


def _open_for_keys(open_crises: list[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any] | None:
    ks = set(keys)
    for c in open_crises:
        if c["kind"] == "cluster" and ks & set((c["data"] or {}).get("keys", [])):
            return c
    return None


async def _link(conn: Any, crisis_id: int, ids: list[int], now: datetime) -> list[int]:
    rows = await crepo.attach(crisis_id, ids, conn=conn, now=now)
    await items.insert_events([{"item_id": r["id"], "kind": "crisis_linked", "actor": "system", "team": r["team"],
                                "data": {"crisis_id": crisis_id, "priority": r["priority"]}, "created_at": now}
                               for r in rows], conn=conn)
    return [r["id"] for r in rows]


async def _open(svc: Any, conn: Any, now: datetime, cfg: CrisisConfig, *, kind: str, subject: str,
                label: str | None, cluster_key: str | None, ws: datetime, count: int, mean: float, std: float,
                thr: float, data: dict[str, Any], changed: list[int]) -> int | None:
    """Open the crisis and its queue item in the caller's transaction; None if one is open."""
    cid = await crepo.try_open({"kind": kind, "subject": subject, "label": label, "cluster_key": cluster_key,
                                "status": "open", "window_start": ws, "window_end": now, "count": count,
                                "baseline_mean": mean, "baseline_std": std, "threshold": thr, "data": data,
                                "opened_at": now, "last_spike_at": now}, conn=conn)
    if cid is None:
        return None
    settings = svc.settings
    team = cfg.team or settings.routing.label_to_team.get("pr", settings.routing.triage_team)
    what = {"cluster": f"{count} near-duplicate mentions",
            "safety": f"{count} product-safety mentions about '{data.get('product')}'",
            }.get(kind, f"{count} '{label}' mentions")
    text = (f"Possible crisis: {what} in the last {int(cfg.window.total_seconds() // 60)} min "
            f"(baseline {mean:.1f} ± {std:.1f} per window, threshold {thr:.1f}).")
    if data.get("sample"):
        text += f' Example: "{" ".join(str(data["sample"]).split())[:280]}"'
    ids = await mentions.insert_mentions([{
        "source": crepo.CRISIS_SOURCE, "platform": "crisis", "external_id": str(cid), "url": None,
        "author_handle": None, "author_name": None, "author_followers": None, "text": text, "lang": None,
        "created_at": now, "fetched_at": now, "reply_to_id": None, "thread_id": None, "metrics": {},
        "is_repost": False, "original_external_id": None, "edited_at": None, "deleted": False,
        "cluster_key": None, "raw": {"crisis_id": cid, "subject": subject}}], conn=conn)
    item_id = ids[(crepo.CRISIS_SOURCE, str(cid))]
    reason = f"crisis detection: {kind} spike ({subject}), {count} in the window vs threshold {thr:.1f}"
    await mentions.insert_decisions([{
        "mention_id": item_id, "team": team, "label": "pr", "confidence": None, "probabilities": None,
        "model_version": None, "rule": None, "reason": reason, "watchers": [], "priority": 3, "action": "crisis",
        "explanation": {"decided_by": "crisis", "crisis_id": cid, "priority": {"value": 3, "reasons": ["crisis"]},
                        "baseline": {"mean": mean, "std": std, "threshold": thr, "count": count}},
        "created_at": now}], conn=conn)
    first_due, resolve_due = sla_calendar.due_times(now, settings.team(team))
    await items.insert_items([{
        "id": item_id, "team": team, "status": ItemStatus.NEW, "priority": 3, "label": None, "confidence": None,
        "watchers": [], "first_response_due": first_due, "resolve_due": resolve_due, "created_at": now,
        "updated_at": now, "transfers": 0, "bounces": 0, "breached_first_response": False,
        "breached_resolution": False, "crisis_id": cid}], conn=conn)
    await crepo.set_item(cid, item_id, conn=conn)
    changed.append(item_id)
    await items.insert_events([{"item_id": item_id, "kind": "crisis_opened", "actor": "system", "team": team,
                                "data": {"crisis_id": cid, "subject": subject, "count": count, "threshold": thr},
                                "created_at": now}], conn=conn)
    await notifier.enqueue(conn, settings, now, kind="crisis", key=f"crisis:{cid}", text=":fire: " + text,
                         item_id=item_id, crisis_id=cid, fields={"subject": subject, "team": team})
    log.warning("crisis_opened", crisis_id=cid, subject=subject, count=count, threshold=thr, item_id=item_id)
    return cid
