#!/usr/bin/env bash
# Makes sure the machine's PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) answer,
# starting them when they do not. Idempotent.
set -euo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port=$1 name=$2
  for _ in $(seq 1 60); do
    answers "$port" && return 0
    sleep 0.5
  done
  echo "services: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

if ! answers 5432; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_for 5432 PostgreSQL
fi
if ! answers 3306; then
  echo "services: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for 3306 MariaDB
fi
echo "services: PostgreSQL and MariaDB are up"
