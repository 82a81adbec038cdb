#!/usr/bin/env bash
# Start the coordinator's Flower SuperLink for a fedft federation:
#   TLS (certificates from setup_tls.py), SuperNode authentication (only registered site keys
#   are admitted), no runtime dependency installation (no `uv sync` of app dependencies),
#   no telemetry, no update check. State (registered sites, runs) persists in STATE_DIR.
#
# Environment (defaults in brackets):
#   CERTS_DIR        folder with ca.crt, server.crt, server.key        [./certs]
#   STATE_DIR        SuperLink database and logs (mode 0700)           [./superlink-state]
#   SUPERLINK_HOST   address to listen on                              [127.0.0.1]
#   SUPERLINK_PORT   one HTTPS port for the Fleet (sites), Control (flwr CLI) and
#                    Runtime APIs in Flower 1.41                        [9093]
#   EXPOSE_CONTROL_API  must be "yes" to listen on anything but loopback (see below)
#
# Flower 1.41 serves the Control API (submit runs, register SuperNodes; no authentication in
# the open-source build) on the same port as the Fleet API the sites use. So the SuperLink
# listens on 127.0.0.1 by default: put a TLS reverse proxy in front that forwards only
# /v1/fleet/ to it (server/README.md, step 5). Listening on another address exposes the Control
# API to everyone who can reach the port; the script refuses unless EXPOSE_CONTROL_API=yes.
# Extra arguments are passed to flower-superlink (e.g. --log-file PATH); ones that would
# override the settings below (address, port, TLS, authentication) are refused.
set -euo pipefail

CERTS_DIR=${CERTS_DIR:-./certs}
STATE_DIR=${STATE_DIR:-./superlink-state}
SUPERLINK_HOST=${SUPERLINK_HOST:-127.0.0.1}
SUPERLINK_PORT=${SUPERLINK_PORT:-9093}

die() { echo "start_superlink.sh: $*" >&2; exit 2; }

case "$SUPERLINK_HOST" in
  127.*|localhost|::1) ;;
  *) [[ "${EXPOSE_CONTROL_API:-}" == yes ]] || die "SUPERLINK_HOST=$SUPERLINK_HOST would expose Flower's unauthenticated Control API (anyone reaching the port could register SuperNodes and submit runs). Keep 127.0.0.1 behind a proxy that forwards only /v1/fleet/ (server/README.md, step 5), or set EXPOSE_CONTROL_API=yes if only trusted hosts can reach $SUPERLINK_HOST:$SUPERLINK_PORT"
     echo "start_superlink.sh: WARNING: the unauthenticated Control API listens on $SUPERLINK_HOST:$SUPERLINK_PORT" >&2 ;;
esac

# Extra arguments must not re-open what the guard above closed: the listening address and
# port, TLS, node authentication and dependency installation are set here only.
for arg in "$@"; do
  case "$arg" in
    --host|--host=*|--port|--port=*|--fleet-api-address*|--control-api-address*|\
    --serverappio-api-address*|--insecure|--ssl-*|--enable-supernode-auth*|\
    --disable-runtime-dependency-installation*|--database*)
      die "extra argument $arg would override the kit's setting; use SUPERLINK_HOST / SUPERLINK_PORT / CERTS_DIR / STATE_DIR instead" ;;
  esac
done

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
