"""The stylesheet's colours meet WCAG 2.1 AA in the light and the dark scheme: text (and the key
hints inside primary and danger buttons) at least 4.5:1 against its background (1.4.3), the focus
ring and form field borders at least 3:1 against what they sit on (1.4.11). axe-core checks text
it can see; these pairs include the ones it cannot (focus, borders, both schemes' badges)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "inbox/web/static/app.css"

TEXT = [("fg", "bg"), ("fg", "card"), ("muted", "bg"), ("muted", "card"), ("link", "bg"), ("link", "card"),
        ("accent-fg", "accent"), ("bad", "card"), ("ok", "card"), ("warn", "card"), ("top-fg", "top-bg"),
        ("fg", "flash-bg"), ("fg", "ok-bg"), ("fg", "bad-bg"), ("fg", "field-bg"), ("badge-fg", "badge-bg"),
        ("new-fg", "new-bg"), ("claimed-fg", "claimed-bg"), ("waiting-fg", "waiting-bg"), ("done-fg", "done-bg"),
        ("spam-fg", "spam-bg"), ("prio-fg", "prio-bg"), ("private-fg", "private-bg"), ("fg", "team-bg"),
        ("chart-text", "card")]
NON_TEXT = [("focus", "bg"), ("focus", "card"), ("top-focus", "top-bg"), ("field-border", "card"),
            ("field-border", "bg"), ("field-border", "field-bg"), ("chart-bar", "card")]


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def ratio(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _schemes() -> dict[str, dict[str, str]]:
    css = CSS.read_text(encoding="utf-8")
    root = re.search(r"^:root \{(.*?)^\}", css, re.S | re.M)
    dark = re.search(r"@media \(prefers-color-scheme: dark\) \{\s*:root \{(.*?)\}", css, re.S)
    assert root and dark, "app.css lost its :root or its dark scheme"
    light = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", root.group(1)))
    dark_only = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", dark.group(1)))
    return {"light": light, "dark": {**light, **dark_only}}


def test_ratio_matches_known_values() -> None:
    assert round(ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(ratio("#767676", "#ffffff"), 2) == 4.54
    assert round(ratio("#ffbf47", "#f6f7f9"), 1) == 1.5  # the old focus ring on the page background


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_and_key_hints_reach_4_5(scheme: str) -> None:
    colours = _schemes()[scheme]
    low = {f"{a} on {b}": round(ratio(colours[a], colours[b]), 2) for a, b in TEXT
           if ratio(colours[a], colours[b]) < 4.5}
    assert not low, low


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_focus_ring_and_field_borders_reach_3(scheme: str) -> None:
    colours = _schemes()[scheme]
    low = {f"{a} on {b}": round(ratio(colours[a], colours[b]), 2) for a, b in NON_TEXT
           if ratio(colours[a], colours[b]) < 3}
    assert not low, low


def test_key_hints_are_not_faded() -> None:
    """A key hint takes its button's colour as it is: opacity would lower the contrast (3.9:1 before)."""
    css = CSS.read_text(encoding="utf-8")
    kbd = re.search(r"^kbd \{(.*?)\}", css, re.S | re.M)
    assert kbd and "opacity" not in kbd.group(1)
    assert "outline: 3px solid var(--focus)" in css
