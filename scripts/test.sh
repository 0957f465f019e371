#!/usr/bin/env bash
# The test suite: unit, integration (SQLite and the PostgreSQL at 127.0.0.1:5432), conformance
# (../shared/fixtures), faults (reduced size) and browser tests (Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"
