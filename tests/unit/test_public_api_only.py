"""Dependencies are used through their public API: no ``_private`` name of another package is
imported or read anywhere in the project (product, tests, benchmarks, scripts), and no dependency
is monkeypatched. A private name can change in any release that the version ranges in
pyproject.toml allow.

The scan is static (``ast``). A ``_name`` read as an attribute must be one the project itself
defines (a function, class, parameter, slot or assigned attribute of its own) unless it is one of
the few underscore names that libraries document as public (``Row._mapping``, namedtuple's
``_asdict``, enum's ``_missing_``...). Through a name imported from a dependency, no ``_name`` is
allowed at all. Assigning a function to an attribute the project does not declare, or any
attribute of a dependency's module or class, counts as monkeypatching; so does pytest's
``monkeypatch.setattr`` on a dependency."""
from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("inbox", "connectors", "routing_models", "tests", "bench", "scripts")
FIRST_PARTY = {"inbox", "connectors", "routing_models", "tests", "bench"}
# underscore names that their libraries document as public API
PUBLIC_UNDERSCORE = {
    "_mapping", "_asdict", "_fields", "_replace", "_make", "_field_defaults", "_t", "_tuple",  # Row, namedtuple
    "_missing_", "_generate_next_value_", "_value_", "_name_", "_ignore_", "_order_",  # enum's sunder names
}


def _sources(root: Path) -> Iterator[Path]:
    for top in SCANNED:
        base = root / top
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*.py") if ".venv" not in p.parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__")) and \
        name not in PUBLIC_UNDERSCORE


def _first_party(module: str, path: Path) -> bool:
    top = module.split(".")[0]
    return top in FIRST_PARTY or (path.parent / f"{top}.py").exists() or (path.parent / top).is_dir()


class _Declared(ast.NodeVisitor):
    """Names the project declares: defs, classes, parameters, slots, assigned names and attributes."""

    def __init__(self) -> None:
        self.names: set[str] = set()      # anything the project defines (for reads)
        self.owned: set[str] = set()      # what its own classes and modules declare (for assignments)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.names.add(node.name)
        self.owned.add(node.name)
        a = node.args
        for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)):
            self.names.add(arg.arg)
            self.owned.add(arg.arg)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.names.add(node.name)
        self.owned.add(node.name)
        for stmt in node.body:
            for target in _targets(stmt):
                if isinstance(target, ast.Name):
                    self.owned.add(target.id)
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__slots__"
                                                    for t in stmt.targets):
                for c in ast.walk(stmt.value):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str):
                        self.names.add(c.value)
                        self.owned.add(c.value)
        self.generic_visit(node)

    def visit_Module(self, node: ast.Module) -> None:
        for stmt in node.body:  # a module's own globals
            for target in _targets(stmt):
                if isinstance(target, ast.Name):
                    self.owned.add(target.id)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.names.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Store):
            self.names.add(node.attr)
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                self.owned.add(node.attr)
        self.generic_visit(node)

    def visit_alias(self, node: ast.alias) -> None:
        if node.asname:
            self.names.add(node.asname)


def _targets(stmt: ast.stmt) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return [e for t in stmt.targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
    if isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        return [stmt.target]
    return []


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def _chain(node: ast.expr) -> list[str]:
    out = []
    while isinstance(node, ast.Attribute):
        out.append(node.attr)
        node = node.value
    return out[::-1]


def scan(root: Path) -> list[str]:
    """Every violation under ``root``, as "path:line: what"."""
    trees = {}
    for path in _sources(root):
        try:
            trees[path] = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except SyntaxError as e:  # pragma: no cover - the project's own files parse
            raise AssertionError(f"{path}: {e}") from e
    declared = _Declared()
    for tree in trees.values():
        declared.visit(tree)
    found: list[str] = []
    for path, tree in trees.items():
        rel = path.relative_to(root)
        foreign: set[str] = set()   # local names bound to a dependency's module or object
        local_defs = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}

        def bad(node: ast.AST, what: str, rel: Path = rel) -> None:
            found.append(f"{rel}:{getattr(node, 'lineno', 0)}: {what}")

        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if not _first_party(a.name, path):
                        foreign.add((a.asname or a.name).split(".")[0])
                        if any(_private(p) for p in a.name.split(".")):
                            bad(node, f"imports private module {a.name}")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if _first_party(node.module, path):
                    continue
                if any(_private(p) for p in node.module.split(".")):
                    bad(node, f"imports from private module {node.module}")
                for a in node.names:
                    foreign.add(a.asname or a.name)
                    if _private(a.name):
                        bad(node, f"imports private name {a.name} from {node.module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                base = _root(node)
                through = isinstance(base, ast.Name) and base.id in foreign
                if through:
                    bad(node, f"reads {base.id}.{'.'.join(_chain(node))} of a dependency")  # type: ignore[union-attr]
                elif isinstance(node.ctx, ast.Load) and node.attr not in declared.names:
                    bad(node, f"reads {node.attr}, which the project does not define")
            if isinstance(node, ast.Call):
                _check_call(node, foreign, declared, bad)
            for target in _targets(node) if isinstance(node, ast.stmt) else []:
                if not isinstance(target, ast.Attribute):
                    continue
                base = _root(target)
                if isinstance(base, ast.Name) and base.id in foreign:
                    bad(target, f"assigns {base.id}.{'.'.join(_chain(target))}: monkeypatches a dependency")
                elif target.attr not in declared.owned and _is_function(node, local_defs):
                    bad(target, f"assigns a function to .{target.attr}, which the project does not declare "
                                "(monkeypatching)")
    return found


def _is_function(stmt: ast.AST, local_defs: set[str]) -> bool:
    value = getattr(stmt, "value", None)
    parts = value.elts if isinstance(value, ast.Tuple) else [value]
    return any(isinstance(v, ast.Lambda) or (isinstance(v, ast.Name) and v.id in local_defs) for v in parts)


def _check_call(node: ast.Call, foreign: set[str], declared: _Declared, bad: object) -> None:
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    args = node.args
    if name in ("getattr", "setattr", "delattr", "hasattr") and len(args) >= 2 and \
            isinstance(args[1], ast.Constant) and isinstance(args[1].value, str):
        target, attr = args[0], args[1].value
        base = _root(target)
        if name == "setattr" and isinstance(f, ast.Attribute):  # monkeypatch.setattr(obj, "name", value)
            if isinstance(base, ast.Name) and base.id in foreign:
                bad(node, f"monkeypatch.setattr on {base.id}: patches a dependency")  # type: ignore[operator]
            return
        if isinstance(base, ast.Name) and base.id in foreign and (name in ("setattr", "delattr") or _private(attr)):
            bad(node, f"{name}({base.id}, {attr!r}) on a dependency")  # type: ignore[operator]
        elif _private(attr) and attr not in declared.names:
            bad(node, f"{name}(..., {attr!r}): a name the project does not define")  # type: ignore[operator]
    elif name == "setattr" and isinstance(f, ast.Attribute) and args and isinstance(args[0], ast.Constant) \
            and isinstance(args[0].value, str):  # monkeypatch.setattr("package.module.name", value)
        if args[0].value.split(".")[0] not in FIRST_PARTY:
            bad(node, f"monkeypatch.setattr({args[0].value!r}): patches a dependency")  # type: ignore[operator]


def test_the_project_uses_dependencies_through_their_public_api_only() -> None:
    found = scan(ROOT)
    assert not found, "private names of dependencies or monkeypatching:\n" + "\n".join(found)


@pytest.mark.parametrize("source, expected", [
    ("from sqlalchemy.util import _concurrency_py3k\n", "private name"),
    ("import sqlalchemy.util._collections\n", "private module"),
    ("import langid\nx = langid._rowbase\n", "of a dependency"),
    ("def f(compiled):\n    return compiled._bind_processors\n", "does not define"),
    ("def f(t, d):\n    return getattr(t, '_cached_result_processor')(d)\n", "does not define"),
    ("def f(dialect):\n    def commit(c):\n        pass\n    dialect.do_commit = commit\n", "monkeypatching"),
    ("import sqlalchemy\nsqlalchemy.text = print\n", "monkeypatches"),
    ("def f(dialect):\n    do_commit = dialect.do_commit\n    def commit(c):\n        do_commit(c)\n"
     "    dialect.do_commit, dialect.do_rollback = commit, commit\n", "monkeypatching"),
    ("def test(monkeypatch):\n    import aiohttp\n    monkeypatch.setattr(aiohttp, 'request', None)\n", "patches"),
    ("def test(monkeypatch):\n    monkeypatch.setattr('asyncpg.connect', None)\n", "patches"),
])
def test_the_scan_finds_each_kind_of_violation(tmp_path: Path, source: str, expected: str) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "m.py").write_text(source)
    found = scan(tmp_path)
    assert found and all(expected in f for f in found), found


def test_the_scan_allows_the_documented_underscore_names_and_the_projects_own(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "m.py").write_text(
        "class A:\n    __slots__ = ('_x',)\n    def _y(self):\n        return self._x\n"
        "def f(row, a):\n    return row._mapping, a._y(), a.__class__\n"
        "def g(conn):\n    conn.isolation_level = None\n"
        "import os\nif hasattr(os, 'sched_getaffinity'):\n    pass\n")
    assert scan(tmp_path) == []


if __name__ == "__main__":  # python tests/unit/test_public_api_only.py [ROOT]: list what a tree has
    print("\n".join(scan(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)))
