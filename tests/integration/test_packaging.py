"""The wheel, as `pip install .` and the Docker image install it: every module of the source tree
is in it and imports from it (not from the checkout), and the files the service reads at run time
(templates, static files, the Italian catalogue, migrations, the demo's samples, the bundled model)
are there. A subpackage missing from the packaging configuration fails here, not in production."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("inbox", "connectors", "routing_models")
DATA = ("inbox/web/templates/base.html", "inbox/web/templates/admin/users.html", "inbox/web/static/app.js",
        "inbox/web/locale/it/LC_MESSAGES/messages.po", "inbox/storage/migrations/script.py.mako",
        "connectors/samples/mastodon", "routing_models/artifacts/default.skops", "routing_models/data/seed.jsonl")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # built from a copy: setuptools reuses a build/ folder it finds, which can hold modules the
    # configuration no longer (or never) selected, and a build must not write into the checkout
    tree = tmp_path_factory.mktemp("tree")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info", "node_modules")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=skip)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree)],
                   check=True, capture_output=True, timeout=600)
    [built] = out.glob("social_inbox-*.whl")
    return built


def _source_modules() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if all((ROOT / Path(*rel.parts[:i]) / "__init__.py").exists() for i in range(1, len(rel.parts))):
                found.add(".".join(rel.with_suffix("").parts).removesuffix(".__init__"))
    return found


def test_the_wheel_holds_every_module_and_the_files_read_at_run_time(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    modules = {n.removesuffix(".py").replace("/", ".").removesuffix(".__init__") for n in names if n.endswith(".py")}
    missing = sorted(_source_modules() - modules)
    assert not missing, f"modules of the source tree missing from the wheel: {missing}"
    for item in DATA:
        assert any(n == item or n.startswith(item + "/") for n in names), f"{item} is not in the wheel"


def test_the_installed_wheel_imports_the_web_app_and_the_cli(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    probe = ("import importlib, pkgutil, sys\n"
             "import inbox, connectors, routing_models\n"
             f"assert all(m.__file__.startswith({str(target)!r}) for m in (inbox, connectors, routing_models))\n"
             "for pkg in (inbox, connectors, routing_models):\n"
             "    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
             "        if not info.name.endswith('.migrations.env'):  # alembic's script, run only by alembic\n"
             "            importlib.import_module(info.name)\n"
             "import inbox.web.app, inbox.cli\n"
             "print('ok')\n")
    # the dependencies come from this interpreter's environment; the project only from the wheel
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
