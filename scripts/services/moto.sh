#!/usr/bin/env bash
# Makes sure moto 5.2.1's `moto_server` (an AWS API emulator) and boto3 are on PATH for the AWS
# connector's tests. Nothing is started here: each test file starts its own moto_server on a free
# loopback port (`moto_server -H 127.0.0.1 -p 0`, which prints the port it took) and stops it.
# Idempotent: installs moto[server]==5.2.1 with pip only when moto_server is missing or another
# version.
set -euo pipefail
want=5.2.1
have=$(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || true)
if command -v moto_server >/dev/null 2>&1 && [ "$have" = "$want" ] && python3 -c 'import boto3' >/dev/null 2>&1; then
  exit 0
fi
echo "services: installing moto[server]==$want (found: ${have:-none})"
python3 -m pip install -q "moto[server]==$want"
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
command -v moto_server >/dev/null
