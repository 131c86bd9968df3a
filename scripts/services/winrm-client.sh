#!/usr/bin/env bash
# Installs Debian's pywinrm (python3-winrm), the independent WinRM client the WinRM connector's
# integration test runs against its fake WS-Management server. A client only: nothing to start.
# Idempotent: installs only when /usr/bin/python3 cannot import winrm.
set -euo pipefail
if /usr/bin/python3 -c 'import winrm' >/dev/null 2>&1; then exit 0; fi
echo "services: installing python3-winrm"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-winrm >/dev/null
/usr/bin/python3 -c 'import winrm'
