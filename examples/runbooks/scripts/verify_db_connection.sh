#!/usr/bin/env bash
# Demo postcheck for examples/runbooks/fix-database-connection.md.
# Harmless: reports what a real verification would do and succeeds.
set -euo pipefail

echo "[verify_db_connection] would run: psql -h \"\${DB_HOST:-db-prod-01.internal}\" -c 'SELECT 1'"
echo "[verify_db_connection] connection verified (demo)"
exit 0
