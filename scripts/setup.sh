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
echo "set-up done: activate with '. .venv/bin/activate'"
