"""Every user-visible string of the web app is translated: the Italian catalogue covers all that
Babel extracts from the code (nothing untranslated, fuzzy or with other placeholders), templates
hold no text outside gettext, every refusal raised under inbox/ reads in Italian on a page, and
labels, teams, roles and statuses have names in words."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest

from inbox.web import i18n, names
from inbox.web.error_text import translate_error

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "inbox/web/locale/it/LC_MESSAGES/messages.po"
TEMPLATES = ROOT / "inbox/web/templates"
DOMAIN_ERRORS = {"NotFound", "Forbidden", "Conflict", "Invalid"}
#: words a template may hold as they are: the product's name and the languages' own names
VERBATIM = {"social-inbox", "English", "Italiano"}


@pytest.fixture
def italian() -> Any:
    i18n.use_locale("it")
    yield
    i18n.use_locale("en")


def _catalogue() -> Any:
    from babel.messages.pofile import read_po
    with PO.open("rb") as f:
        return read_po(f, locale="it")


def test_italian_catalogue_translates_everything_extracted(tmp_path: Path) -> None:
    """pybabel extract (inbox/web/babel.cfg) finds nothing the Italian catalogue leaves untranslated
    or fuzzy, and each translation keeps the placeholders of its message."""
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "inbox/web/babel.cfg",
                    "-k", "N_", "-o", str(pot), "inbox/web"], cwd=ROOT, check=True)
    from babel.messages.pofile import read_po
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    catalogue = _catalogue()
    problems = []
    for msgid in sorted(wanted, key=str):
        m = catalogue.get(msgid)
        if m is None or not m.string or (isinstance(m.string, tuple) and not all(m.string)):
            problems.append(f"untranslated: {msgid!r}")
        elif m.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
    for m in catalogue:
        if m.id and m.string:
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            want = set(re.findall(r"%\(\w+\)s", ids[-1]))
            for s in strings:
                if set(re.findall(r"%\(\w+\)s", s)) != want:
                    problems.append(f"placeholders differ: {m.id!r}")
    assert wanted and not problems, problems


class _Text(HTMLParser):
    """Text nodes and the attributes people read, of a template with its Jinja parts removed."""

    READ = {"title", "aria-label", "placeholder", "alt", "data-confirm", "data-changed"}

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_data(self, data: str) -> None:
        self.found.append(re.sub(r'[\w-]+="[^"]*"', " ", data))  # attributes a block adds to a tag

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.extend(v for k, v in attrs if k in self.READ and v)


def _literal_words(source: str) -> list[str]:
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    html = "".join(value if kind == "data" else " " for _line, kind, value in env.lex(source)
                   if kind == "data" or kind.endswith("_begin"))
    parser = _Text()
    parser.feed(html)
    return [w for text in parser.found for w in re.findall(r"[^\W\d_][\w'-]+", text)
            if w not in VERBATIM and not any(w in v for v in VERBATIM)]


def test_literal_text_is_found() -> None:
    found = _literal_words('<p title="Hint">{{ _("ok") }} Save</p><a aria-label="{{ x }}">{{ y }}</a>')
    assert found == ["Hint", "Save"]
    assert _literal_words('<p>{{ _("Saved") }} · #{{ n }}</p>{# a comment #}') == []


@pytest.mark.parametrize("template", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")))
def test_templates_hold_no_text_outside_gettext(template: str) -> None:
    """Every word a template shows goes through _(): literal text would stay English in Italian."""
    words = _literal_words((TEMPLATES / template).read_text(encoding="utf-8"))
    assert not words, words


def _raised_messages() -> list[tuple[str, str]]:
    """(file, an example message) for each DomainError raised with a message under inbox/: literal
    messages as they are, f-strings with their values as a placeholder would show them."""
    out = []
    for path in sorted((ROOT / "inbox").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in DOMAIN_ERRORS and node.args):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.append((path.name, arg.value))
            elif isinstance(arg, ast.JoinedStr):
                parts = []
                for v in arg.values:
                    if isinstance(v, ast.Constant):
                        parts.append(str(v.value))
                    else:
                        parts.append("'x7'" if isinstance(v, ast.FormattedValue) and v.conversion == ord("r") else "x7")
                out.append((path.name, "".join(parts)))
    return out


def test_every_refusal_raised_reads_in_italian(italian: None) -> None:
    """The pages show each domain error in the reader's language: a message raised anywhere in
    inbox/ without a shape in inbox/web/error_text.py fails here."""
    found = _raised_messages()
    assert len(found) > 30
    # a message made only of values (render.form's "'field' problem") is checked below
    untranslated = [(f, m) for f, m in found if translate_error(m) == m and re.search(r"[a-z]{3}", m.replace("x7", ""))]
    assert not untranslated, untranslated
    assert translate_error("'text' contains the control character U+0007") == \
        "Il campo text contiene un carattere di controllo."


def test_refusals_keep_their_values(italian: None) -> None:
    assert translate_error("item 12 is claimed by someone else") == \
        "L'elemento 12 è preso in carico da un'altra persona."
    assert translate_error("item 5 is already resolved") == "L'elemento 5 è già risolto."
    assert translate_error("no queue 'customer_care'") == "Nessuna coda Assistenza clienti."
    assert translate_error("something nobody wrote a shape for") == "something nobody wrote a shape for"
    i18n.use_locale("en")
    assert translate_error("item 12 is claimed by someone else") == "Item 12 is claimed by someone else."


def test_a_remembered_shape_still_reads_in_each_language_and_long_details_are_matched(italian: None) -> None:
    """The shape of a message is remembered, its words are not: the same message twice, in Italian
    then English; a message too long to remember (it can quote what was typed) still matches."""
    detail = "no queue 'customer_care'"
    assert translate_error(detail) == translate_error(detail) == "Nessuna coda Assistenza clienti."
    long_name = "x" * 300
    assert translate_error(f"'{long_name}' contains the control character U+0007") == \
        f"Il campo {long_name} contiene un carattere di controllo."
    i18n.use_locale("en")
    assert translate_error(detail) == "No queue Customer care."


def test_labels_teams_roles_and_statuses_have_names(italian: None) -> None:
    from inbox.domain.types import ROLES
    from inbox.settings import LABELS
    for label in (*LABELS, "triage"):
        assert names.label_name(label) != label and "_" not in names.label_name(label)
    assert names.label_name("customer_care") == "Assistenza clienti"
    for role in ROLES:
        assert names.role_name(role) in {"agente", "capo squadra", "manager", "amministratore"}
    assert [names.status_name(s) for s in names.STATUSES] == ["nuovo", "in carico", "risposto", "in attesa",
                                                              "risolto", "spam"]
    for policy in ("manual", "round_robin", "least_loaded"):
        assert names.assignment_name(policy) != policy

    class Team:
        name, display_name = "customer_care", "Customer care"
    assert names.team_name(Team()) == "Assistenza clienti"
    Team.display_name = "Supporto VIP"  # an admin's own name is shown as they wrote it
    assert names.team_name(Team()) == "Supporto VIP"
