"""The brief rendered: HTML e-mail body, plain-text part and PDF, in English and Italian, from the
seeded database of test_brief. A mention's markup is shown as text (escaped in HTML, drawn as
characters in the PDF); the PDF turns into PNG pages (Debian's poppler-utils) for a person to
look at, and its text is read back with pdftotext."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from inbox.web.brief_pdf import font_files, render_pdf
from inbox.web.brief_render import render_html, render_text, subject
from inbox.work.brief import EXECUTIVE, build_brief
from tests.conftest import IN_CI
from tests.integration.test_brief import MARKUP, SINCE, UNTIL, seed


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if IN_CI:
            pytest.fail(f"{tool} (Debian poppler-utils) is missing but CI=true")
        pytest.skip(f"{tool} (Debian poppler-utils) is not installed")
    return path


def _pages_and_text(pdf: bytes, tmp: Path) -> tuple[list[int], str]:
    """The sizes of the PNG pages pdftoppm makes of ``pdf`` (kept in $BRIEF_PNG_DIR when set, to be
    looked at), and the text pdftotext reads from it."""
    (tmp / "brief.pdf").write_bytes(pdf)
    out = Path(os.environ.get("BRIEF_PNG_DIR") or tmp)
    subprocess.run([_poppler("pdftoppm"), "-png", "-r", "60", str(tmp / "brief.pdf"), str(out / "brief")], check=True)
    pages = [p.stat().st_size for p in sorted(out.glob("brief*.png"))]
    words = subprocess.run([_poppler("pdftotext"), "-layout", str(tmp / "brief.pdf"), "-"], check=True,
                           capture_output=True, text=True).stdout
    return pages, words


async def _brief(svc: Any, audience: str = EXECUTIVE) -> dict[str, Any]:
    await seed(svc)
    return await build_brief(svc.engine, svc.settings, audience, SINCE, UNTIL, now=svc.clock.now())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_html_and_text_in_both_languages(services: Any) -> None:
    """The figures appear in each format and language; markup in a mention is escaped in HTML."""
    b = await _brief(services)
    en, it = render_html(b, services.settings, "en"), render_html(b, services.settings, "it")
    if os.environ.get("BRIEF_PNG_DIR"):  # kept to be looked at in a browser
        await asyncio.to_thread((Path(os.environ["BRIEF_PNG_DIR"]) / "brief-it.html").write_text, it)
    assert "<script>" not in en and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in en
    assert "&lt;b&gt;refund&lt;/b&gt; &amp; help" in en and "<b>refund" not in en
    assert '<html lang="en">' in en and '<html lang="it">' in it
    assert "Executive brief" in en and "Sintesi per la direzione" in it
    assert ">Mentions</th>" in en and ">Menzioni</th>" in it
    assert "· 4 mentions</p>" in en and "· 4 menzioni</p>" in it  # a theme's size, in words
    assert f"<strong>{b['current']['volume']}</strong>" in en and "+350%" in en  # 9 against 2
    text = render_text(b, services.settings, "it")
    assert MARKUP in text and "Periodo precedente" in text and "+350%" in text
    assert subject(b, services.settings, "it").startswith("Sintesi per la direzione · 5 gen 2026")
    assert "hiring" not in en + text  # HR's texts stay out of the executive brief
    # a crisis named as a reader says it, its count in words; team names in the reader's language
    assert "<li>Customer care (surge of one label) · 9 mentions · " in en
    assert "* Assistenza clienti (picco di un'etichetta) · 9 menzioni · " in text
    assert "Assistenza clienti -> Marketing: " in text and "label:customer_care" not in en + it + text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_pdf_renders_and_shows_markup_as_text(services: Any, tmp_path: Path) -> None:
    """The PDF opens (pdftoppm makes PNG pages of it), says the figures in Italian with accents, and
    shows a mention's markup as the characters typed."""
    if font_files() is None and IN_CI:
        pytest.fail("DejaVu Sans (Debian fonts-dejavu-core) is missing but CI=true")
    b = await _brief(services)
    pdf = render_pdf(b, services.settings, "it")
    assert pdf.startswith(b"%PDF-")
    pages, words = await asyncio.to_thread(_pages_and_text, pdf, tmp_path)
    assert pages and all(size > 5000 for size in pages)
    assert "Sintesi per la direzione" in words and "Menzioni" in words
    assert "<script>alert('x')</script>" in words and "<b>refund</b> & help" in words
    assert "più" in words or "è" in words  # an accented Italian word is drawn, not replaced
    assert "hiring" not in words
