"""The service's folders are its layers, and imports run downwards only: web and cli use ops, ops
uses ingest and work, those use domain and storage; ingest and work never import each other and
domain does no I/O (README, "Architecture")."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

INBOX = Path(__file__).resolve().parents[2] / "inbox"
LEVEL = {"domain": 0, "storage": 1, "ingest": 2, "work": 2, "ops": 3, "web": 4, "cli": 4}
# what each layer may import besides itself (top-level modules settings, errors, faultpoints: anyone)
ALLOWED = {
    "domain": set(),
    "storage": {"domain"},
    "ingest": {"domain", "storage"},
    "work": {"domain", "storage"},
    "ops": {"domain", "storage", "ingest", "work"},
    "web": {"domain", "storage", "ingest", "work", "ops"},
    "cli": {"domain", "storage", "ingest", "work", "ops", "web"},
}
IO_MODULES = {"aiohttp", "sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "sqlite3", "socket", "subprocess"}


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, only for type checking) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for b in node.body for n in ast.walk(b))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module, id(node) in typing_only))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, id(node) in typing_only) for a in node.names)
    return out


def _layer_files() -> list[tuple[str, Path]]:
    return [(p.relative_to(INBOX).parts[0], p) for p in sorted(INBOX.rglob("*.py"))
            if len(p.relative_to(INBOX).parts) > 1 and p.relative_to(INBOX).parts[0] in LEVEL
            and "migrations" not in p.parts]


def test_every_layer_folder_exists() -> None:
    """The layers named in the README are folders of inbox/."""
    assert sorted(p.name for p in INBOX.iterdir() if p.is_dir() and (p / "__init__.py").exists()) \
        == sorted(LEVEL)


@pytest.mark.parametrize("layer", sorted(LEVEL))
def test_imports_run_downwards(layer: str) -> None:
    """No module imports a layer above its own (type-only imports of the service container aside)."""
    bad = []
    for own, path in _layer_files():
        if own != layer:
            continue
        for line, mod, typing_only in _imports(path):
            parts = mod.split(".")
            if parts[0] != "inbox" or len(parts) < 2 or parts[1] not in LEVEL or parts[1] == own:
                continue
            if parts[1] not in ALLOWED[own] and not typing_only:
                bad.append(f"{path.relative_to(INBOX.parent)}:{line} imports {mod}")
    assert bad == []


def test_domain_does_no_io() -> None:
    """inbox/domain is pure: no HTTP, database or process libraries."""
    bad = [f"{p.relative_to(INBOX.parent)}:{line} imports {mod}" for own, p in _layer_files() if own == "domain"
           for line, mod, _ in _imports(p) if mod.split(".")[0] in IO_MODULES]
    assert bad == []
