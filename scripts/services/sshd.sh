#!/usr/bin/env bash
# Starts a throwaway OpenSSH server on loopback for Runwarden's SSH integration tests and bench.
# Idempotent: installs openssh-server only if /usr/sbin/sshd is missing, keeps keys and the
# password between runs, and starts sshd only if the port does not already answer an SSH banner.
# Must run as root (it creates the test user).
#
# Environment (all optional):
#   RW_SSHD_DIR   runtime directory             (default /tmp/runwarden-sshd)
#   RW_SSHD_PORT  loopback port to listen on    (default 2222)
#
# It writes "$RW_SSHD_DIR/env" (KEY=VALUE lines, sourceable by sh), which the tests read:
#   RW_SSH_HOST, RW_SSH_PORT, RW_SSH_USER, RW_SSH_PASSWORD,
#   RW_SSH_KEY (ed25519 private key, no passphrase),
#   RW_SSH_KEY_PASSPHRASE_FILE (ed25519 private key protected by RW_SSH_KEY_PASSPHRASE),
#   RW_SSH_KEY_PASSPHRASE, RW_SSH_HOST_KEY_FINGERPRINT (SHA256:…), RW_SSH_KNOWN_HOSTS
set -euo pipefail

DIR="${RW_SSHD_DIR:-/tmp/runwarden-sshd}"
PORT="${RW_SSHD_PORT:-2222}"
HOST=127.0.0.1
USER_NAME=rwtest

log() { printf 'sshd.sh: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (creates the $USER_NAME user)"
  exit 1
fi

if [ ! -x /usr/sbin/sshd ]; then
  log "installing openssh-server"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
fi

mkdir -p "$DIR" /run/sshd
chmod 755 "$DIR"

# Keys are generated once and kept, so a running server and the env file stay in step.
[ -f "$DIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C rw-host -f "$DIR/ssh_host_ed25519_key"
[ -f "$DIR/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C rw-client -f "$DIR/client_ed25519"
[ -f "$DIR/passphrase" ] || head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/passphrase"
[ -f "$DIR/password" ] || head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/password"
PASSPHRASE="$(cat "$DIR/passphrase")"
PASSWORD="$(cat "$DIR/password")"
[ -f "$DIR/client_ed25519_pass" ] ||
  ssh-keygen -q -t ed25519 -N "$PASSPHRASE" -C rw-client-pass -f "$DIR/client_ed25519_pass"
chmod 600 "$DIR"/client_ed25519 "$DIR"/client_ed25519_pass "$DIR"/ssh_host_ed25519_key "$DIR/password" "$DIR/passphrase"

# The test user: with UsePAM no a fresh account is "locked" until it has a password field.
if ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd -m -s /bin/bash "$USER_NAME"
fi
usermod -p '*' "$USER_NAME"
echo "$USER_NAME:$PASSWORD" | chpasswd

cat "$DIR/client_ed25519.pub" "$DIR/client_ed25519_pass.pub" >"$DIR/authorized_keys"
chmod 644 "$DIR/authorized_keys"

HOST_PUB="$(cut -d' ' -f1,2 "$DIR/ssh_host_ed25519_key.pub")"
printf '[%s]:%s %s\n' "$HOST" "$PORT" "$HOST_PUB" >"$DIR/known_hosts"
FINGERPRINT="$(ssh-keygen -l -E sha256 -f "$DIR/ssh_host_ed25519_key.pub" | cut -d' ' -f2)"

cat >"$DIR/sshd_config" <<CONF
Port $PORT
ListenAddress $HOST
HostKey $DIR/ssh_host_ed25519_key
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
UsePAM no
StrictModes no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $USER_NAME
AllowTcpForwarding yes
MaxSessions 10
MaxStartups 30:50:100
ClientAliveInterval 0
LogLevel INFO
Subsystem sftp internal-sftp
CONF

cat >"$DIR/env" <<ENV
RW_SSH_HOST=$HOST
RW_SSH_PORT=$PORT
RW_SSH_USER=$USER_NAME
RW_SSH_PASSWORD=$PASSWORD
RW_SSH_KEY=$DIR/client_ed25519
RW_SSH_KEY_PASSPHRASE_FILE=$DIR/client_ed25519_pass
RW_SSH_KEY_PASSPHRASE=$PASSPHRASE
RW_SSH_HOST_KEY_FINGERPRINT=$FINGERPRINT
RW_SSH_KNOWN_HOSTS=$DIR/known_hosts
ENV
chmod 600 "$DIR/env"

banner() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$PORT && head -c 4 <&3" 2>/dev/null || true; }

if [ "$(banner)" = "SSH-" ]; then
  log "already answering on $HOST:$PORT"
  exit 0
fi

/usr/sbin/sshd -t -f "$DIR/sshd_config"
/usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
for _ in $(seq 1 50); do
  if [ "$(banner)" = "SSH-" ]; then
    log "listening on $HOST:$PORT (env: $DIR/env)"
    exit 0
  fi
  sleep 0.1
done
log "sshd did not answer on $HOST:$PORT; see $DIR/sshd.log"
exit 1
