#!/usr/bin/env bash
# Start the coordinator's Flower SuperLink for a fedft federation:
#   TLS (certificates from setup_tls.py), SuperNode authentication (only registered site keys
#   are admitted), no runtime dependency installation (no `uv sync` of app dependencies),
#   no telemetry, no update check. State (registered sites, runs) persists in STATE_DIR.
#
# Environment (defaults in brackets):
#   CERTS_DIR        folder with ca.crt, server.crt, server.key        [./certs]
#   STATE_DIR        SuperLink database and logs (mode 0700)           [./superlink-state]
#   SUPERLINK_HOST   address to listen on                              [0.0.0.0]
#   SUPERLINK_PORT   one HTTPS port for the Fleet (sites), Control (flwr CLI) and
#                    Runtime APIs in Flower 1.41                        [9093]
# Extra arguments are passed to flower-superlink (e.g. --log-file PATH).
set -euo pipefail

CERTS_DIR=${CERTS_DIR:-./certs}
STATE_DIR=${STATE_DIR:-./superlink-state}
SUPERLINK_HOST=${SUPERLINK_HOST:-0.0.0.0}
SUPERLINK_PORT=${SUPERLINK_PORT:-9093}

die() { echo "start_superlink.sh: $*" >&2; exit 2; }

export FLWR_TELEMETRY_ENABLED=0
export FLWR_DISABLE_UPDATE_CHECK=1
export FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION=1

# flower-superlink starts `flower-superexec` by name: both must be on PATH (activate the venv).
for cmd in flower-superlink flower-superexec; do
  command -v "$cmd" >/dev/null || die "$cmd not found on PATH; activate the fedft virtualenv first"
done
for f in ca.crt server.crt server.key; do
  [[ -r "$CERTS_DIR/$f" ]] || die "$CERTS_DIR/$f missing; run: python server/setup_tls.py --out $CERTS_DIR --hostname <your.host>"
done
perm=$(stat -c '%a' "$CERTS_DIR/server.key")
[[ "$perm" == 600 || "$perm" == 400 ]] || die "$CERTS_DIR/server.key has mode $perm; run: chmod 600 $CERTS_DIR/server.key"

mkdir -p "$STATE_DIR"
chmod 700 "$STATE_DIR"

exec flower-superlink \
  --ssl-ca-certfile "$CERTS_DIR/ca.crt" \
  --ssl-certfile "$CERTS_DIR/server.crt" \
  --ssl-keyfile "$CERTS_DIR/server.key" \
  --enable-supernode-auth \
  --disable-runtime-dependency-installation \
  --database "$STATE_DIR/superlink.db" \
  --host "$SUPERLINK_HOST" \
  --port "$SUPERLINK_PORT" \
  "$@"
