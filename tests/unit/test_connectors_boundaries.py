"""The connectors package keeps its boundaries: no inbox, no database, an explicit public surface."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import connectors
from connectors.base import Connector
from connectors.config import ConnectorSettings
from connectors.registry import CONNECTOR_TYPES

PACKAGE = Path(connectors.__file__).resolve().parent
FORBIDDEN = {"inbox", "routing_models", "sqlalchemy", "sqlmodel", "aiosqlite", "asyncpg", "sqlite3", "alembic"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_inbox_or_database_imports(path: Path) -> None:
    """No module imports the inbox, the models package or a database driver."""
    assert not _imports(path) & FORBIDDEN


def test_public_names_exist() -> None:
    """Every name in __all__ of every module is defined."""
    for path in PACKAGE.glob("*.py"):
        module = importlib.import_module(f"connectors.{path.stem}" if path.stem != "__init__" else "connectors")
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"{module.__name__}.{name}"


@pytest.mark.parametrize("kind", sorted(CONNECTOR_TYPES))
def test_every_type_satisfies_the_protocol(kind: str) -> None:
    """Each registered class builds from minimal settings and is a Connector of its type."""
    from connectors.http import HttpClient

    table: dict[str, object] = {"name": "c", "type": kind, "query": ["lumetta"]}
    if kind == "rss":
        table = {"name": "c", "type": "rss", "feeds": ["https://example.com/f.xml"]}
    if kind == "webhook":
        table = {"name": "c", "type": "webhook", "secret_env": "S"}
    settings = ConnectorSettings.model_validate(table)
    connector = CONNECTOR_TYPES[kind](settings, HttpClient(session=None), env={"S": "x"})  # type: ignore[arg-type]
    assert isinstance(connector, Connector) and connector.type == kind
