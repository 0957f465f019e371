"""The brief as an HTML e-mail body (templates/brief/email.html, autoescaped: a mention's markup
is shown as text), its plain-text part, and its subject line, in the reader's language."""
from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from inbox.settings import Settings
from inbox.web.brief_view import brief_view, in_locale

__all__ = ["render_html", "render_text", "subject"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True,
                              auto_reload=False, undefined=jinja2.StrictUndefined)


def render_html(brief: dict[str, Any], settings: Settings, lang: str) -> str:
    with in_locale(lang) as loc:
        return _env().get_template("brief/email.html").render(v=brief_view(brief, settings), lang=loc)


def subject(brief: dict[str, Any], settings: Settings, lang: str) -> str:
    with in_locale(lang):
        v = brief_view(brief, settings)
        return f"{v['title']} · {v['period']}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
            for r in rows]


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, 76, initial_indent=indent, subsequent_indent=indent) or [indent]


def render_text(brief: dict[str, Any], settings: Settings, lang: str) -> str:
    """The plain-text part: the same figures and lists as the HTML, as aligned columns."""
    with in_locale(lang):
        v = brief_view(brief, settings)
    lab = v["labels"]
    out = [v["title"], f"{v['brand']} · {v['period']}", lab["compared"], ""]
    out += _table([[lab["figure"], lab["this"], lab["before"], lab["change"]]]
                  + [[f["label"], f["value"], f["previous"], f["change"]] for f in v["figures"]])
    if v["teams"]:
        out += ["", lab["by_team"], ""]
        out += _table([[lab["team"], lab["mentions"], lab["change"], lab["sla"], lab["first_response"]]]
                      + [[t["name"], t["value"], t["change"], t["sla"], t["first_response"]] for t in v["teams"]])
    if v["withheld_note"]:
        out += [""] + _wrap(v["withheld_note"], "")
    out += ["", lab["themes"], ""]
    for t in v["themes"]:
        out.append(f"* {t['keywords']} · {t['size']}")
        for e in t["examples"]:
            out += _wrap(f"\u201c{e['text']}\u201d ({e['source']})", "    ")
    if not v["themes"]:
        out.append(lab["no_themes"])
    if v["keywords"]:
        out += [""] + _wrap(f"{lab['keywords']}: " + ", ".join(f"{k['word']} ({k['count']})" for k in v["keywords"]),
                            "")
    out += ["", lab["crises"], v["crises_heading"]]
    for c in v["crises"]:
        out += textwrap.wrap(f"* {c['subject']} ({c['kind']}) · {c['count']} · {c['opened']} · {c['status']}", 76,
                             subsequent_indent="  ")
    if v["misroutes"]:
        out += ["", lab["misroutes"]] + [f"* {m['from']} -> {m['to']}: {m['count']}" for m in v["misroutes"]]
    out += ["", "-- ", lab["footer"]]
    return "\n".join(out) + "\n"
