#!/usr/bin/env bash
# Submit a fedft run to the SuperLink and stream its logs (Flower 1.41: `flwr run`).
#
#   server/submit_run.sh <connection> [app-dir] [run-config.toml]
#
# app-dir: the fedft project folder (its pyproject.toml declares the ServerApp/ClientApp);
# run-config.toml: overrides of [tool.flwr.app.config] (template: server/run-config.template.toml).
# Note: if app-dir/pyproject.toml still has a [tool.flwr.federations] section, Flower 1.41
# migrates it into $FLWR_HOME/config.toml and comments it out in pyproject.toml.
set -euo pipefail
export FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1

[[ $# -ge 1 ]] || { sed -n '2,10p' "$0" >&2; exit 2; }
connection=$1
app=${2:-.}
run_config=${3:-}
args=(run "$app" "$connection" --stream)
[[ -n "$run_config" ]] && args+=(--run-config "$run_config")
exec flwr "${args[@]}"
