#!/usr/bin/env bash
# Prometheus Alertmanager on 127.0.0.1:9093 for the prometheus connector's integration test.
# Idempotent: installs Debian's prometheus-alertmanager only when it is missing, (re)writes its
# config under $RUNWARDEN_AM_DIR, starts it when /-/ready does not answer (reloads it when its
# config changed) and waits until it is ready.
#
# Alertmanager sends its webhooks to http://127.0.0.1:18080/api/v1/tickets/webhook/prometheus
# (a fixed port: the tests listen there) with `Authorization: Bearer <token>`. The token is kept
# in $RUNWARDEN_AM_DIR/webhook-token (mode 600, created once with random bytes; set
# RUNWARDEN_AM_WEBHOOK_TOKEN to choose it). Tests read that file (path overridable with
# RUNWARDEN_AM_TOKEN_FILE).
set -euo pipefail

dir=${RUNWARDEN_AM_DIR:-/tmp/runwarden-alertmanager}
listen=127.0.0.1:9093
receiver_url=http://127.0.0.1:18080/api/v1/tickets/webhook/prometheus
base=http://$listen

ready() { curl -fsS -m 2 "$base/-/ready" >/dev/null 2>&1; }

if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  echo "alertmanager: installing prometheus-alertmanager"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
fi

mkdir -p "$dir/data"
chmod 700 "$dir"
token_file=$dir/webhook-token
if [ -n "${RUNWARDEN_AM_WEBHOOK_TOKEN:-}" ]; then
  (umask 077 && printf '%s' "$RUNWARDEN_AM_WEBHOOK_TOKEN" >"$token_file")
elif [ ! -s "$token_file" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$token_file")
fi

config=$dir/alertmanager.yml
new_config=$(
  cat <<EOF
# Written by scripts/services/alertmanager.sh: edits are overwritten.
route:
  receiver: runwarden
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: runwarden
    webhook_configs:
      - url: $receiver_url
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: $token_file
EOF
)
changed=0
if [ ! -f "$config" ] || [ "$(cat "$config")" != "$new_config" ]; then
  printf '%s\n' "$new_config" >"$config"
  changed=1
fi

if ready; then
  if [ "$changed" = 1 ]; then
    echo "alertmanager: config changed, reloading"
    curl -fsS -m 5 -X POST "$base/-/reload" >/dev/null
  fi
else
  echo "alertmanager: starting on $listen"
  setsid prometheus-alertmanager \
    --config.file="$config" \
    --storage.path="$dir/data" \
    --web.listen-address="$listen" \
    --web.external-url="$base" \
    --cluster.listen-address= \
    >>"$dir/alertmanager.log" 2>&1 </dev/null &
  echo $! >"$dir/alertmanager.pid"
  for _ in $(seq 1 60); do
    ready && break
    sleep 0.5
  done
  if ! ready; then
    echo "alertmanager: not ready on $listen; last log lines:" >&2
    tail -n 20 "$dir/alertmanager.log" >&2 || true
    exit 1
  fi
fi
echo "alertmanager: ready on $listen (webhook token in $token_file)"
