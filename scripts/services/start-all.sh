#!/usr/bin/env bash
# Installs (Debian packages, only when missing) and starts every service the integration tests
# need, on loopback only. Idempotent: a service that already answers is left alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if [ ${#missing[@]} -gt 0 ]; then
  echo "services: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash "$here/databases.sh"
for script in sshd alertmanager zabbix winrm-client moto; do
  if [ -f "$here/$script.sh" ]; then bash "$here/$script.sh"; fi
done
