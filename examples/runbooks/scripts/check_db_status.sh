#!/usr/bin/env bash
# Demo precheck for examples/runbooks/fix-database-connection.md.
# Harmless: reports what a real check would do and succeeds.
set -euo pipefail

echo "[check_db_status] would run: pg_isready -h \"\${DB_HOST:-db-prod-01.internal}\" -p 5432"
echo "[check_db_status] would run: systemctl is-active postgresql"
echo "[check_db_status] host $(hostname) load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "[check_db_status] status: reachable=unknown (demo), proceeding"
exit 0
