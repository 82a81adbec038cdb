#!/usr/bin/env bash
# Start this site's Flower SuperNode for a fedft federation.
#   - verifies the coordinator's SuperLink with the federation CA certificate (TLS),
#   - authenticates with the site's private key (registered by the coordinator beforehand),
#   - passes the site's settings (data path, privacy policy, state folder) as node config.
# No telemetry, no update check, no runtime installation of app dependencies.
#
# Environment (defaults in brackets):
#   SUPERLINK        coordinator address host:port, as in its certificate    (required)
#   SITE_DIR         folder with ca.crt, supernode.key, node-config.toml     [./site]
#   NODE_CONFIG      the node-config TOML file                               [$SITE_DIR/node-config.toml]
#   SUPERNODE_PORT   local port of the SuperNode's own Runtime API (loopback) [9094]
# Extra arguments are passed to flower-supernode (e.g. --max-retries 10).
set -euo pipefail

: "${SUPERLINK:?set SUPERLINK=host:port of the coordinator SuperLink}"
SITE_DIR=${SITE_DIR:-./site}
NODE_CONFIG=${NODE_CONFIG:-$SITE_DIR/node-config.toml}
SUPERNODE_PORT=${SUPERNODE_PORT:-9094}

die() { echo "start_supernode.sh: $*" >&2; exit 2; }

export FLWR_TELEMETRY_ENABLED=0
export FLWR_DISABLE_UPDATE_CHECK=1
export FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION=1

for cmd in flower-supernode flower-superexec python; do
  command -v "$cmd" >/dev/null || die "$cmd not found on PATH; activate the fedft virtualenv first"
done
[[ -r "$SITE_DIR/ca.crt" ]] || die "$SITE_DIR/ca.crt missing: get the federation CA certificate from the coordinator"
[[ -r "$SITE_DIR/supernode.key" ]] || die "$SITE_DIR/supernode.key missing: create it (see client/README.md, step 2)"
perm=$(stat -c '%a' "$SITE_DIR/supernode.key")
[[ "$perm" == 600 || "$perm" == 400 ]] || die "$SITE_DIR/supernode.key has mode $perm; run: chmod 600 $SITE_DIR/supernode.key"
[[ -r "$NODE_CONFIG" ]] || die "$NODE_CONFIG missing: copy client/node-config.template.toml and fill it in"
[[ "$NODE_CONFIG" == *.toml ]] || die "NODE_CONFIG must be a .toml file (Flower reads it as such)"

# The paths in the node config must exist before any training round reaches this site.
python - "$NODE_CONFIG" <<'PY' || exit 2
import sys, tomllib
from pathlib import Path
cfg = tomllib.load(open(sys.argv[1], "rb"))
problems = [f"{k}: missing" for k in ("site-id", "data-path", "policy-path", "state-dir") if k not in cfg]
for key in ("data-path", "policy-path"):
    if key in cfg and not Path(str(cfg[key])).exists():
        problems.append(f"{key}: {cfg[key]} does not exist")
if problems:
    sys.exit("start_supernode.sh: " + sys.argv[1] + ": " + "; ".join(problems))
Path(str(cfg["state-dir"])).mkdir(parents=True, exist_ok=True, mode=0o700)
PY

# Not exec: on failure the site is told the likely cause. (A service manager stops the whole
# process group, so the SuperNode is not orphaned.)
status=0
flower-supernode \
  --superlink "$SUPERLINK" \
  --root-certificates "$SITE_DIR/ca.crt" \
  --auth-supernode-private-key "$SITE_DIR/supernode.key" \
  --node-config "$NODE_CONFIG" \
  --host 127.0.0.1 \
  --port "$SUPERNODE_PORT" \
  "$@" || status=$?
if [[ $status -ne 0 ]]; then
  echo "start_supernode.sh: flower-supernode exited with status $status. If it logged 'Failed to activate SuperNode', this site's key is not registered at the SuperLink: send $SITE_DIR/supernode.pub to the coordinator and wait for them to confirm the registration" >&2
fi
exit $status
