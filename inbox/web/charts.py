"""Geometry of the dashboard's server-drawn SVG charts (templates/macros.html draws them): every
chart has an axis with ticks and a caption, and its values as text for a table beside it.

Horizontal bars carry their label on a line of its own above the bar, across the chart's whole
width, so a name is cut only past ``LABEL_MAX`` characters, and then in the middle (the start
and the end, where names differ, stay), never to the same text as another label's."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inbox.web import i18n

__all__ = ["bar_chart", "column_chart", "short_labels", "LABEL_MAX"]

LABEL_MAX = 64
Fmt = Callable[[float], str]


def short_labels(labels: list[str], limit: int = LABEL_MAX) -> list[str]:
    """Labels cut in the middle to ``limit`` characters, each still distinct from the others."""
    out: list[str] = []
    for label in labels:
        short = label if len(label) <= limit else label[:limit // 2 - 1] + "…" + label[-(limit // 2 - 1):]
        n = 2
        while short in out:  # two long names alike at both ends: number them, never show one twice
            short = f"{label[:limit - 8]}… ({n})"
            n += 1
        out.append(short)
    return out


def _ticks(top: float) -> list[float]:
    return [0.0, top / 2, top]


def bar_chart(pairs: list[tuple[str, float | None]], *, width: int = 560, fmt: Fmt | None = None,
              top: float | None = None) -> dict[str, Any]:
    """Horizontal bars: label line, bar, value; an axis below with three ticks."""
    fmt = fmt or i18n.fmt_number
    top = top or max((v for _, v in pairs if v is not None), default=0) or 1
    span = width - 70
    row, bar = 40, 14
    bars = []
    for i, ((label, value), short) in enumerate(zip(pairs, short_labels([p[0] for p in pairs]), strict=True)):
        y = i * row
        w = 0.0 if value is None else max(1.0 if value else 0.0, span * value / top)
        bars.append({"label": label, "short": short, "value": value, "text": "—" if value is None else fmt(value),
                     "ly": y + 12, "x": 0, "y": y + 17, "w": round(w, 1), "h": bar, "ty": y + 28,
                     "vx": round(w + 6, 1)})
    axis_y = max(row, len(pairs) * row) + 2
    ticks = [{"x": round(span * t / top, 1), "text": fmt(t)} for t in _ticks(top)]
    return {"bars": bars, "width": width, "height": axis_y + 34, "axis_y": axis_y, "span": span, "ticks": ticks}


def column_chart(pairs: list[tuple[str, float]], *, width: int = 560, height: int = 210) -> dict[str, Any]:
    """Vertical bars (volume by day) over a y axis with three ticks and an x axis of days."""
    top = max((v for _, v in pairs), default=0) or 1
    left, base = 44, height - 40
    n = max(1, len(pairs))
    slot = (width - left - 6) / n
    cols = []
    for i, (label, value) in enumerate(pairs):
        h = (base - 12) * value / top
        w = max(2.0, min(slot * 0.7, 48.0))
        cols.append({"label": label, "value": value, "text": i18n.fmt_number(value),
                     "x": round(left + i * slot + (slot - w) / 2, 1), "w": round(w, 1), "y": round(base - h, 1),
                     "h": round(h, 1), "lx": round(left + i * slot + slot / 2, 1),
                     "show_label": i % max(1, -(-n // 7)) == 0})
    ticks = [{"y": round(base - (base - 12) * t / top, 1), "text": i18n.fmt_number(round(t, 1))} for t in _ticks(top)]
    return {"cols": cols, "width": width, "height": height, "base": base, "left": left, "ticks": ticks}
