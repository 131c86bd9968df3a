#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser tests, only when it is missing.
# Never a downloaded browser build: playwright-core drives /usr/bin/chromium.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -x /usr/bin/chromium
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
