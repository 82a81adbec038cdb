#!/usr/bin/env bash
# Register the sites' SuperNode public keys with the running SuperLink (Flower 1.41:
# `flwr supernode register`). Only registered keys can connect when the SuperLink runs with
# --enable-supernode-auth. Prints the node ID Flower assigns to each site.
#
#   server/register_sites.sh <connection> <site>=<path/to/supernode.pub> [...]
#   server/register_sites.sh fedft hospital-a=keys/hospital-a.pub hospital-b=keys/hospital-b.pub
#
# <connection> names a [superlink.<connection>] entry of $FLWR_HOME/config.toml
# (~/.flwr/config.toml by default; template: server/flwr-config.template.toml).
set -euo pipefail
export FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1

[[ $# -ge 2 ]] || { sed -n '2,11p' "$0" >&2; exit 2; }
connection=$1; shift
for pair in "$@"; do
  site=${pair%%=*}; pub=${pair#*=}
  [[ "$site" != "$pair" && -r "$pub" ]] || { echo "register_sites.sh: expected <site>=<readable .pub file>, got '$pair'" >&2; exit 2; }
  echo "== $site ($(ssh-keygen -l -f "$pub" 2>/dev/null | awk '{print $2}' || echo "fingerprint n/a"))"
  flwr supernode register "$pub" "$connection" --name "$site"
done
flwr supernode list "$connection"
