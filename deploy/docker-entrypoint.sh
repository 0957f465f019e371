#!/bin/sh
# social-inbox container entry point: `docker run IMAGE [COMMAND ARGS...]` runs `social-inbox COMMAND
# ARGS...` (default: `serve --role all`). Before `serve` it runs `social-inbox init` (migrations to
# head under an advisory lock, teams, default model) unless INBOX_INIT=0 -- set that when a separate
# one-shot `init` service does it (deploy/docker-compose.yml).
set -e
if [ "$1" = "serve" ] && [ "${INBOX_INIT:-1}" = "1" ]; then
  social-inbox init >/dev/null
fi
exec social-inbox "$@"
