#!/usr/bin/env bash
# A real Zabbix (6.0 on Debian 12, 7.0 on Debian 13) on loopback for the zabbix connector's
# integration tests. Idempotent: installs Debian's packages only when missing, loads the schema
# into a `zabbix` database on the machine's PostgreSQL only when it is not there, (re)writes the
# configs under $RUNWARDEN_ZABBIX_DIR and starts each daemon that does not answer.
#
#   frontend + API  http://127.0.0.1:${RUNWARDEN_ZABBIX_HTTP_PORT:-8090}/api_jsonrpc.php (Admin/zabbix)
#   server trapper  127.0.0.1:10051 (zabbix_sender -z 127.0.0.1)
#
# Nothing listens on another address: nginx, php-fpm and zabbix_server are started by hand with
# their own configs (apt's postinsts are kept from starting anything), and zabbix_agentd is never
# started (its package is installed only for /usr/bin/zabbix_sender).
set -euo pipefail

dir=${RUNWARDEN_ZABBIX_DIR:-/tmp/runwarden-zabbix}
http_port=${RUNWARDEN_ZABBIX_HTTP_PORT:-8090}
api=http://127.0.0.1:$http_port/api_jsonrpc.php
pg() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

case "$(cut -d. -f1 /etc/debian_version)" in
  12) php=8.2 ;;
  13) php=8.4 ;;
  *) php=$(ls /etc/php 2>/dev/null | sort -V | tail -n1) ;;
esac

# --- packages ---------------------------------------------------------------------------------
missing=()
[ -x /usr/sbin/zabbix_server ] || missing+=(zabbix-server-pgsql)
[ -x "/usr/sbin/php-fpm$php" ] || missing+=("php$php-fpm")
dpkg -s "php$php-pgsql" >/dev/null 2>&1 || missing+=("php$php-pgsql")
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -d /usr/share/zabbix ] || missing+=(zabbix-frontend-php)
[ -x /usr/bin/zabbix_sender ] || missing+=(zabbix-agent)
if [ ${#missing[@]} -gt 0 ]; then
  echo "zabbix: installing ${missing[*]}"
  # php-fpm and php-pgsql come first so that apt does not pull Apache and mod_php for the frontend.
  ordered=()
  for p in "php$php-fpm" "php$php-pgsql" nginx zabbix-server-pgsql zabbix-frontend-php zabbix-agent; do
    for m in "${missing[@]}"; do [ "$m" = "$p" ] && ordered+=("$p"); done
  done
  # Keep the postinsts from starting nginx (0.0.0.0:80) and the agent (0.0.0.0:10050): a
  # temporary policy-rc.d, removed however apt ends, unless the machine has its own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${ordered[@]}" >/dev/null
  if trap -p EXIT | grep -q policy-rc.d; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
fi

mkdir -p "$dir"
chown zabbix:zabbix "$dir"
chmod 755 "$dir"

# --- database ---------------------------------------------------------------------------------
pg -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'zabbix') THEN CREATE ROLE zabbix LOGIN; END IF; END\$\$;"
if [ "$(pg -c "SELECT 1 FROM pg_database WHERE datname = 'zabbix'")" != 1 ]; then
  pg -c "CREATE DATABASE zabbix OWNER zabbix ENCODING 'UTF8' TEMPLATE template0"
fi
if [ "$(psql -h 127.0.0.1 -U zabbix -d zabbix -qAt -c "SELECT to_regclass('public.dbversion') IS NOT NULL" 2>/dev/null)" != t ]; then
  echo "zabbix: loading the schema"
  schema=/usr/share/zabbix-server-pgsql
  if [ ! -f "$schema/schema.sql.gz" ]; then
    # Another Debian release may move them: ask the package.
    schema=$(dirname "$(dpkg -L zabbix-server-pgsql | grep -m1 '/schema\.sql\.gz$')")
  fi
  # data.sql carries its own BEGIN/COMMIT: concatenated, the three load as one stream.
  {
    zcat "$schema/schema.sql.gz"
    zcat "$schema/images.sql.gz"
    zcat "$schema/data.sql.gz"
  } | psql -h 127.0.0.1 -U zabbix -d zabbix -q -v ON_ERROR_STOP=1 >/dev/null
  # The stock "Zabbix server" host polls an agent that never runs: disable it.
  psql -h 127.0.0.1 -U zabbix -d zabbix -qAt -c "UPDATE hosts SET status = 1 WHERE host = 'Zabbix server'"
fi

# --- configs ----------------------------------------------------------------------------------
cat >"$dir/zabbix_server.conf" <<EOF
# Written by scripts/services/zabbix.sh: edits are overwritten.
ListenIP=127.0.0.1
ListenPort=10051
SourceIP=127.0.0.1
LogFile=$dir/zabbix_server.log
LogFileSize=10
PidFile=$dir/zabbix_server.pid
SocketDir=$dir
DBHost=127.0.0.1
DBPort=5432
DBName=zabbix
DBUser=zabbix
CacheUpdateFrequency=60
StartPollers=1
StartPollersUnreachable=1
StartPingers=0
StartDiscoverers=0
StartHTTPPollers=0
StartTrappers=2
StartEscalators=1
StartAlerters=1
StartPreprocessors=1
StartDBSyncers=1
HousekeepingFrequency=0
Timeout=10
FpingLocation=/usr/bin/fping
EOF
chown zabbix:zabbix "$dir/zabbix_server.conf"

# Debian's frontend reads the path its CConfigFile names (/etc/zabbix/zabbix.conf.php on Debian 12);
# upstream's is conf/zabbix.conf.php under the frontend.
frontend_conf=$(sed -n "s/.*CONFIG_FILE_PATH = '\\([^']*\\)'.*/\\1/p" \
  /usr/share/zabbix/include/classes/core/CConfigFile.php 2>/dev/null | head -n1)
case "$frontend_conf" in
  /etc/*) ;;
  /*) frontend_conf=/usr/share/zabbix$frontend_conf ;;
  *) frontend_conf=/etc/zabbix/zabbix.conf.php ;;
esac
mkdir -p "$(dirname "$frontend_conf")"
cat >"$frontend_conf" <<EOF
<?php
// Written by scripts/services/zabbix.sh: edits are overwritten.
\$DB['TYPE'] = 'POSTGRESQL';
\$DB['SERVER'] = '127.0.0.1';
\$DB['PORT'] = '5432';
\$DB['DATABASE'] = 'zabbix';
\$DB['USER'] = 'zabbix';
\$DB['PASSWORD'] = '';
\$DB['SCHEMA'] = '';
\$DB['ENCRYPTION'] = false;
\$DB['KEY_FILE'] = '';
\$DB['CERT_FILE'] = '';
\$DB['CA_FILE'] = '';
\$DB['VERIFY_HOST'] = false;
\$DB['CIPHER_LIST'] = '';
\$DB['VAULT_URL'] = '';
\$DB['VAULT_DB_PATH'] = '';
\$DB['VAULT_TOKEN'] = '';
\$DB['DOUBLE_IEEE754'] = true;
\$ZBX_SERVER = '127.0.0.1';
\$ZBX_SERVER_PORT = '10051';
\$ZBX_SERVER_NAME = 'runwarden-test';
\$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
EOF
chmod 644 "$frontend_conf"

cat >"$dir/php-fpm.conf" <<EOF
; Written by scripts/services/zabbix.sh: edits are overwritten.
[global]
pid = $dir/php-fpm.pid
error_log = $dir/php-fpm.log
daemonize = yes

[zabbix]
user = www-data
group = www-data
listen = $dir/php-fpm.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = static
pm.max_children = 3
php_admin_value[memory_limit] = 256M
php_admin_value[post_max_size] = 16M
php_admin_value[upload_max_filesize] = 2M
php_admin_value[max_execution_time] = 300
php_admin_value[max_input_time] = 300
php_admin_value[date.timezone] = UTC
EOF

cat >"$dir/nginx.conf" <<EOF
# Written by scripts/services/zabbix.sh: edits are overwritten.
user www-data;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
worker_processes 1;
events { worker_connections 128; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path $dir/nginx-body;
  fastcgi_temp_path $dir/nginx-fastcgi;
  proxy_temp_path $dir/nginx-proxy;
  uwsgi_temp_path $dir/nginx-uwsgi;
  scgi_temp_path $dir/nginx-scgi;
  server {
    listen 127.0.0.1:$http_port;
    root /usr/share/zabbix;
    index index.php;
    client_max_body_size 16m;
    location ~ [^/]\.php(/|\$) {
      fastcgi_split_path_info ^(.+?\.php)(/.*)\$;
      fastcgi_pass unix:$dir/php-fpm.sock;
      fastcgi_index index.php;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_read_timeout 300;
    }
  }
}
EOF

# --- daemons ----------------------------------------------------------------------------------
api_up() {
  curl -fsS -m 5 -H 'Content-Type: application/json-rpc' \
    -d '{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}' "$api" 2>/dev/null |
    grep -q '"result"'
}
trapper_up() { (exec 3<>/dev/tcp/127.0.0.1/10051) 2>/dev/null; }
fpm_up() { [ -S "$dir/php-fpm.sock" ] && [ -f "$dir/php-fpm.pid" ] && kill -0 "$(cat "$dir/php-fpm.pid")" 2>/dev/null; }
http_up() { (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null; }

if ! fpm_up; then
  echo "zabbix: starting php-fpm$php"
  rm -f "$dir/php-fpm.sock"
  "/usr/sbin/php-fpm$php" --fpm-config "$dir/php-fpm.conf"
fi
if ! http_up; then
  echo "zabbix: starting nginx on 127.0.0.1:$http_port"
  nginx -c "$dir/nginx.conf" -e "$dir/nginx-error.log"
fi
if ! trapper_up; then
  echo "zabbix: starting zabbix_server on 127.0.0.1:10051"
  zabbix_server -c "$dir/zabbix_server.conf"
fi

for _ in $(seq 1 60); do
  api_up && trapper_up && break
  sleep 0.5
done
if ! api_up; then
  echo "zabbix: the API does not answer at $api; last log lines:" >&2
  tail -n 20 "$dir/nginx-error.log" "$dir/php-fpm.log" >&2 || true
  exit 1
fi
if ! trapper_up; then
  echo "zabbix: zabbix_server does not listen on 127.0.0.1:10051; last log lines:" >&2
  tail -n 20 "$dir/zabbix_server.log" >&2 || true
  exit 1
fi
echo "zabbix: ready, API $api, trapper 127.0.0.1:10051"
