#!/usr/bin/env bash
# One-time set-up on a fresh machine: a virtual environment in .venv with the project and its
# test extra installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
# axe-core for the accessibility browser tests (pinned in tests/e2e/axe/package-lock.json)
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix tests/e2e/axe --no-audit --no-fund --loglevel=error
else
  echo "npm not found: tests/e2e/test_accessibility.py needs it (apt-get install npm)" >&2
fi
echo "set-up done: activate with '. .venv/bin/activate'"
