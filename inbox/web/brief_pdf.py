"""The brief as a PDF (fpdf2), the attachment of the e-mail and the Reports page's download.

Text is drawn as text, never interpreted (no markdown, no HTML), so a mention's markup shows as
the characters its author typed. The font is DejaVu Sans from Debian's fonts-dejavu-core
(every accented letter of Italian and most scripts); without it the PDF falls back to the PDF
core font Helvetica, where characters outside Latin-1 become '?'."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from inbox.settings import Settings
from inbox.web.brief_view import brief_view, in_locale

__all__ = ["render_pdf", "font_files"]

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts/dejavu")
_LATIN1 = str.maketrans({"→": "->", "–": "-", "−": "-", "•": "-", "\u201c": '"', "\u201d": '"'})
_INK, _MUTED, _RULE = (29, 36, 48), (74, 85, 104), (203, 210, 217)


@lru_cache(maxsize=1)
def font_files() -> tuple[Path, Path] | None:
    """(regular, bold) DejaVu Sans, or None when the system has none."""
    for d in _FONT_DIRS:
        reg, bold = Path(d) / "DejaVuSans.ttf", Path(d) / "DejaVuSans-Bold.ttf"
        if reg.is_file() and bold.is_file():
            return reg, bold
    return None


class _Doc(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        fonts = font_files()
        if fonts:
            self.add_font("DejaVu", "", str(fonts[0]))
            self.add_font("DejaVu", "B", str(fonts[1]))
        self.family = "DejaVu" if fonts else "Helvetica"
        self.unicode = fonts is not None
        self.set_auto_page_break(True, margin=16)
        self.set_margins(16, 16, 16)

    def t(self, text: str) -> str:
        """Text the font can draw."""
        if self.unicode:
            return text
        return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.font(8)
        self.set_text_color(*_MUTED)
        self.cell(0, 5, self.t(f"{self.footer_text}  ·  {self.page_no()}"), align="C")

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def heading(self, text: str, size: float = 13) -> None:
        if self.will_page_break(30):  # no heading alone at the foot of a page
            self.add_page()
        self.ln(3)
        self.font(size, bold=True)
        self.set_text_color(*_INK)
        self.multi_cell(0, size * 0.55, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def para(self, text: str, size: float = 10, color: tuple[int, int, int] = _INK, indent: float = 0) -> None:
        self.font(size)
        self.set_text_color(*color)
        self.set_x(self.l_margin + indent)
        self.multi_cell(0, size * 0.5, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")

    def grid(self, rows: list[list[str]], widths: tuple[float, ...]) -> None:
        self.font(9.5)
        self.set_text_color(*_INK)
        self.set_draw_color(*_RULE)
        align = ("LEFT",) + ("RIGHT",) * (len(widths) - 1)
        with self.table(col_widths=widths, text_align=align, line_height=5.5, first_row_as_headings=True,
                        borders_layout="HORIZONTAL_LINES") as table:
            for r in rows:
                row = table.row()
                for c in r:
                    row.cell(self.t(c))
        self.ln(2)


def render_pdf(brief: dict[str, Any], settings: Settings, lang: str) -> bytes:
    with in_locale(lang):
        v = brief_view(brief, settings)
    lab = v["labels"]
    pdf = _Doc(lab["footer"])
    pdf.set_title(pdf.t(f"{v['title']} · {v['period']}"))
    pdf.set_lang(lang)
    pdf.set_creator("social-inbox")
    pdf.add_page()
    pdf.heading(v["title"], 18)
    pdf.para(f"{v['brand']} · {v['period']}", 10, _MUTED)
    pdf.para(lab["compared"], 10, _MUTED)
    pdf.ln(3)
    pdf.grid([[lab["figure"], lab["this"], lab["before"], lab["change"]]]
             + [[f["label"], f["value"], f["previous"], f["change"]] for f in v["figures"]], (70, 30, 30, 30))
    if v["teams"]:
        pdf.heading(lab["by_team"])
        pdf.grid([[lab["team"], lab["mentions"], lab["change"], lab["sla"], lab["first_response"]]]
                 + [[t["name"], t["value"], t["change"], t["sla"], t["first_response"]] for t in v["teams"]],
                 (50, 25, 25, 30, 40))
    if v["withheld_note"]:
        pdf.para(v["withheld_note"], 9, _MUTED)
    pdf.heading(lab["themes"])
    for t in v["themes"]:
        pdf.para(f"{t['keywords']} · {t['size']}", 10.5)
        for e in t["examples"]:
            pdf.para(f"\u201c{e['text']}\u201d ({e['source']})", 9, _MUTED, indent=5)
        pdf.ln(1.5)
    if not v["themes"]:
        pdf.para(lab["no_themes"])
    if v["keywords"]:
        pdf.para(f"{lab['keywords']}: " + ", ".join(f"{k['word']} ({k['count']})" for k in v["keywords"]), 9.5)
    pdf.heading(lab["crises"])
    pdf.para(v["crises_heading"])
    for c in v["crises"]:
        pdf.para(f"• {c['subject']} ({c['kind']}) · {c['count']} · {c['opened']} · {c['status']}", 9.5, indent=3)
    if v["misroutes"]:
        pdf.heading(lab["misroutes"])
        for m in v["misroutes"]:
            pdf.para(f"• {m['from']} → {m['to']}: {m['count']}", 9.5, indent=3)
    return bytes(pdf.output())
