"""The leave-one-source-out table of a model's metadata as Markdown, for the README.

    python -m routing_models.report [--readme README.md] [--metadata routing_models/artifacts/default.json]

prints the table, or with ``--readme`` rewrites the part of that file between the markers
``<!-- loso:start -->`` and ``<!-- loso:end -->``; run it after ``routing_models.build_default``.
A test holds the README's table to the bundled model's metadata."""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from routing_models.registry import default_artifact_path

__all__ = ["loso_markdown", "replace_section", "main", "START", "END"]

START = "<!-- loso:start -->"
END = "<!-- loso:end -->"


def _labels(counts: dict[str, int]) -> str:
    return ", ".join(f"{label} {n}" for label, n in counts.items())


def loso_markdown(loso: dict[str, Any]) -> str:
    """One row per held-out source family (largest first): its rows and labels, then accuracy and
    macro-F1 of the first labels and, when the metadata has them, of the refined labels."""
    refined = (loso.get("refined") or {}).get("per_source", {})
    head = "| source family (held out) | rows | labels | accuracy | macro-F1 |"
    rule = "|---|---:|---|---:|---:|"
    if refined:
        head += " accuracy, refined | macro-F1, refined |"
        rule += "---:|---:|"
    lines = [head, rule]
    for name, s in sorted(loso["per_source"].items(), key=lambda kv: (-kv[1]["n"], kv[0])):
        row = f"| `{name}` | {s['n']} | {_labels(s['labels'])} | {s['accuracy']:.3f} | {s['macro_f1']:.3f} |"
        if refined:
            r = refined.get(name)
            row += f" {r['accuracy']:.3f} | {r['macro_f1']:.3f} |" if r else " | |"
        lines.append(row)
    pooled = loso["pooled"]
    total = f"| all families pooled | {pooled['n']} | | {pooled['accuracy']:.3f} | {pooled['macro_f1']:.3f} |"
    if refined:
        rp = loso["refined"]["pooled"]
        total += f" {rp['accuracy']:.3f} | {rp['macro_f1']:.3f} |"
    lines.append(total)
    return "\n".join(lines) + "\n"


def replace_section(text: str, table: str) -> str:
    """``text`` with the part between START and END replaced by ``table``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {START} ... {END} section")
    return text[: start + len(START)] + "\n" + table + text[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routing_models.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--metadata", type=Path, default=default_artifact_path().with_suffix(".json"))
    parser.add_argument("--readme", type=Path, default=None)
    args = parser.parse_args(argv)
    table = loso_markdown(json.loads(args.metadata.read_text(encoding="utf-8"))["loso"])
    if args.readme is None:
        print(table, end="")
    else:
        args.readme.write_text(replace_section(args.readme.read_text(encoding="utf-8"), table), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
