#!/usr/bin/env bash
# The whole test suite: unit, integration (SQLite and the PostgreSQL at 127.0.0.1:5432), conformance
# (../shared/fixtures), property and browser tests (Debian's Chromium) on two workers, one file per
# worker at a time (each test makes its own SQLite file or PostgreSQL database); then the fault tests
# on their own, because some of them restart the PostgreSQL server. With arguments (a path, `-k`...),
# one plain pytest run of those; `INBOX_TEST_WORKERS=1` runs the whole suite in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${INBOX_TEST_WORKERS:-2}"
if [ "$#" -gt 0 ] || [ "$workers" = "1" ]; then
  exec .venv/bin/python -m pytest "$@"
fi
status=0
.venv/bin/python -m pytest -n "$workers" --dist loadfile --ignore=tests/faults || status=$?
.venv/bin/python -m pytest tests/faults || status=$?
exit $status
