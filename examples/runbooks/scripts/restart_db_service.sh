#!/usr/bin/env bash
# Demo main step for examples/runbooks/fix-database-connection.md.
# Harmless: changes nothing, only echoes what a real restart would do.
set -euo pipefail

echo "[restart_db_service] would run: systemctl restart postgresql"
sleep 1
echo "[restart_db_service] would wait for: pg_isready to report accepting connections"
echo "[restart_db_service] done (demo, nothing was restarted)"
exit 0
