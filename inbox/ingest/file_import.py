"""`social-inbox import`: JSON Lines (or CSV) files of mentions into the pipeline, in batches.
Each line is validated on its own; a bad line becomes a dead letter with its line number."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from connectors.base import Mention, Reject
from inbox.ingest.pipeline import _validate

__all__ = ["parse_record", "read_jsonl", "read_csv", "MAX_LINE"]

MAX_LINE = 1_000_000  # bytes; longer lines are rejected without being parsed
_MAX_DEPTH = 32


def _depth(o: Any, d: int = 0) -> int:
    if d > _MAX_DEPTH:
        return d
    if isinstance(o, dict):
        return max([_depth(v, d + 1) for v in o.values()] or [d + 1])
    if isinstance(o, list):
        return max([_depth(v, d + 1) for v in o] or [d + 1])
    return d


def _parse_time(v: Any) -> datetime:
    # every failure is a ValueError (a dead letter), never OverflowError/OSError (a crash of the import)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            if not math.isfinite(v):
                raise ValueError(f"created_at {v!r} is not a finite number")
            return datetime.fromtimestamp(float(v), UTC)
        except (OverflowError, OSError):
            raise ValueError(f"created_at {str(v)[:40]} is out of range") from None
    if not isinstance(v, str):
        raise ValueError("created_at must be an ISO 8601 string")
    s = v.strip().replace("Z", "+00:00")
    if len(s) > 64:
        raise ValueError("created_at is not an ISO 8601 time (too long)")
    try:
        dt = datetime.fromisoformat(s)
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"created_at {s!r} is out of range") from None


def _opt_str(d: dict[str, Any], key: str, limit: int = 2048) -> str | None:
    v = d.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, (str, int, float)):
        raise ValueError(f"{key} must be a string")
    return str(v)[:limit]


def parse_record(d: Any, *, default_source: str = "import") -> Mention:
    """One import record -> Mention; raises ValueError with the reason."""
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    if _depth(d) > _MAX_DEPTH:
        raise ValueError(f"nested deeper than {_MAX_DEPTH} levels")
    text = d.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' is required and must be a non-empty string")
    source = _opt_str(d, "source", 64) or default_source
    ext = d.get("external_id", d.get("id"))
    if ext is None or ext == "":
        created = str(d.get("created_at") or "")
        ext = "sha256:" + hashlib.sha256(f"{source}\x00{created}\x00{text}".encode()).hexdigest()[:32]
    elif not isinstance(ext, (str, int)) or isinstance(ext, bool):
        raise ValueError("'external_id'/'id' must be a string or an integer")
    created_at = _parse_time(d["created_at"]) if d.get("created_at") not in (None, "") else None
    followers = d.get("author_followers")
    if followers is not None and (not isinstance(followers, int) or isinstance(followers, bool) or followers < 0):
        raise ValueError("author_followers must be a non-negative integer")
    platform = _opt_str(d, "platform", 32) or "import"
    m = Mention(source=source, platform=platform, external_id=str(ext), text=text,
                   url=_opt_str(d, "url"), author_handle=_opt_str(d, "author", 256),
                   author_name=_opt_str(d, "author_name", 256), author_followers=followers,
                   language=_opt_str(d, "lang", 16), created_at=created_at,
                   is_repost=bool(d.get("is_repost", False)),
                   original_external_id=_opt_str(d, "original_external_id", 512), raw=d)
    # the pipeline's own checks, here, so that the dead letter carries the line number
    problem = _validate(m)
    if problem:
        raise ValueError(problem)
    return m


def _bounded_lines(stream: IO[bytes], limit: int) -> Iterator[tuple[bytes, bool]]:
    """(line, too_long) per line, never holding more than ``limit`` bytes of one line in memory:
    a longer line yields its first 4 KiB and True, the rest is skipped in bounded chunks."""
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        if len(raw) > limit and not raw.endswith(b"\n"):
            head = raw[:4096]
            while True:
                rest = stream.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield head, True
        else:
            yield raw, False


def read_jsonl(stream: IO[bytes], *, source: str = "import", batch_size: int = 2000
               ) -> Iterator[tuple[list[Mention], list[Reject], int]]:
    """Yields (mentions, rejects, lines read) per batch; line numbers start at 1."""
    good: list[Mention] = []
    bad: list[Reject] = []
    n = 0
    for lineno, (raw, too_long) in enumerate(_bounded_lines(stream, MAX_LINE), start=1):
        if too_long:
            bad.append(Reject(source=source, reason=f"line longer than {MAX_LINE} bytes",
                              raw=raw.decode("utf-8", "replace"), position=lineno))
            n += 1
        elif raw.strip():
            n += 1
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                bad.append(Reject(source=source, reason=f"invalid UTF-8: {e.reason} at byte {e.start}",
                                  raw=raw.decode("utf-8", "replace"), position=lineno))
            else:
                try:
                    good.append(parse_record(json.loads(line), default_source=source))
                except RecursionError:
                    bad.append(Reject(source=source, reason="JSON nested too deeply", raw=line, position=lineno))
                except ValueError as e:
                    reason = f"invalid JSON: {e}" if isinstance(e, json.JSONDecodeError) else str(e)
                    bad.append(Reject(source=source, reason=reason, raw=line, position=lineno))
        if len(good) + len(bad) >= batch_size:
            yield good, bad, n
            good, bad, n = [], [], 0
    if good or bad or n:
        yield good, bad, n


def read_csv(stream: IO[bytes], *, source: str = "import", batch_size: int = 2000
             ) -> Iterator[tuple[list[Mention], list[Reject], int]]:
    """CSV with a header row naming the same fields as the JSON Lines format."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    reader = csv.DictReader(text)
    good: list[Mention] = []
    bad: list[Reject] = []
    n = 0
    for row in reader:
        n += 1
        lineno = reader.line_num
        try:
            rec = {k: v for k, v in row.items() if k}
            if rec.get("author_followers"):
                rec["author_followers"] = int(rec["author_followers"])
            good.append(parse_record(rec, default_source=source))
        except ValueError as e:
            bad.append(Reject(source=source, reason=str(e), raw=json.dumps(row), position=lineno))
        if len(good) + len(bad) >= batch_size:
            yield good, bad, n
            good, bad, n = [], [], 0
    if good or bad or n:
        yield good, bad, n
