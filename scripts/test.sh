#!/usr/bin/env bash
# The whole suite on SQLite, then on MariaDB when it is reachable (required when CI=true).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/pytest "$@")

echo "== SQLite =="
env -u DATABASE_URL -u TEST_DATABASE_URL "${PYTEST[@]}"
sqlite_status=$?

url="${TEST_DATABASE_URL:-mysql://root@127.0.0.1:3306/mailadmin}"
if .venv/bin/python scripts/mariadb_reachable.py "$url"; then
  echo "== MariaDB ($(.venv/bin/python scripts/mariadb_reachable.py --describe "$url")) =="
  TEST_DATABASE_URL="$url" "${PYTEST[@]}"
  mariadb_status=$?
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true but MariaDB is not reachable at the TEST_DATABASE_URL given (or the local server)." >&2
  mariadb_status=1
else
  echo "== MariaDB not reachable: skipped (set TEST_DATABASE_URL, or start the local server) =="
  mariadb_status=0
fi

[ "$sqlite_status" -eq 0 ] && [ "$mariadb_status" -eq 0 ]
