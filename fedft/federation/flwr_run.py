"""What the coordinator's ServerApp needs under Flower's own runtime (`flwr run`, a SuperLink):
fedft's log lines in `flwr log` once each, a fast failure when sites are missing, and a closed
ledger after `flwr stop`.

`fedft simulate` does not use this module: it runs the apps in-process and keeps its own
terminal (`fedft.federation.simulation`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from flwr.server import Grid
from flwr.supercore.exit import add_exit_handler
from flwr.supercore.logger import FLOWER_LOGGER, console_handler

from fedft.config import Config
from fedft.run.ledger import PrivacyLedger
from fedft.run.ledger_format import ledger_paths
from fedft.run.metrics import read_metrics
from fedft.run.rundir import RunDir

log = logging.getLogger(__name__)

# Run config key (pyproject.toml [tool.flwr.app.config]): seconds the coordinator waits for the
# sites it needs before giving up.
SITES_TIMEOUT_KEY = "sites-timeout"
DEFAULT_SITES_TIMEOUT_S = 30.0


class MissingSitesError(RuntimeError):
    """Fewer SuperNodes are connected than the run needs."""


def log_through_flower() -> None:
    """Send fedft's log lines to Flower's console handler, which `flwr log` reads, and stop
    Flower's lines from also reaching the root logger: Opacus installs a stderr handler there
    on import, and every line would be shown twice."""
    FLOWER_LOGGER.propagate = False
    fedft_logger = logging.getLogger("fedft")
    fedft_logger.propagate = False
    fedft_logger.setLevel(logging.INFO)
    if console_handler not in fedft_logger.handlers:
        fedft_logger.addHandler(console_handler)


def sites_needed(cfg: Config) -> int:
    """Sites that must be connected before round 1 starts (the strategy's
    `min_available_clients`, `fedft.federation.flower_strategies`)."""
    fed = cfg.federation
    return fed.num_clients if fed.fraction_fit == 1.0 else fed.min_fit_clients


def wait_for_sites(
    grid: Grid,
    *,
    needed: int,
    num_clients: int,
    timeout_s: float,
    poll_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Block until `needed` SuperNodes are connected; returns how many are.

    Raises MissingSitesError after `timeout_s` seconds, saying what to set: Flower waits for
    them forever (a local `flwr run` simulates 2 SuperNodes unless told otherwise)."""
    deadline = clock() + timeout_s
    while True:
        connected = len(list(grid.get_node_ids()))
        if connected >= needed:
            return connected
        if clock() >= deadline:
            break
        sleep(poll_s)
    raise MissingSitesError(
        f"{connected} of the {needed} sites this run needs are connected after {timeout_s:.0f} s "
        f"(config federation.num_clients = {num_clients}). On one machine, give Flower's "
        f'simulation as many SuperNodes: flwr run . --federation-config "num-supernodes='
        f'{num_clients}". In a deployment, start the missing sites\' SuperNodes, wait longer '
        f"(--run-config {SITES_TIMEOUT_KEY}=SECONDS), or lower federation.num_clients."
    )


def close_ledger_on_stop(cfg: Config, run_dir: RunDir) -> Callable[[], None]:
    """Register a Flower exit handler that closes the ledger of a run stopped by `flwr stop`
    (Flower raises SIGINT in the ServerApp process and exits from the signal handler).

    Returns `finished()`: call it once the run has ended on its own (closed normally, or
    failed: a failed run's ledger stays open, as the audit expects of an unfinished run)."""
    state = {"running": True}

    def on_exit() -> None:
        if not state["running"]:
            return
        state["running"] = False
        try:
            # Re-read from disk: the signal may have interrupted an append, and a ledger that
            # does not verify is never extended (PrivacyLedger.open raises).
            ledger = PrivacyLedger.open(run_dir.root, private_key_path=cfg.ledger.signing_key)
            history = read_metrics(run_dir.metrics)
            ledger.append(
                "run_end",
                {
                    "rounds_completed": history[-1]["round"] if history else 0,
                    "final_adapter_sha256": _last_adapter_sha256(run_dir.root),
                    "stopped": "flwr stop",
                },
            )
            log.info(
                "run stopped; ledger closed: key fingerprint %s, head hash %s; run folder %s",
                ledger.fingerprint,
                ledger.head_hash,
                run_dir.root,
            )
        except Exception as exc:  # noqa: BLE001 - an exit handler must not raise
            log.error(
                "run stopped; the ledger could not be closed (%s); run folder %s", exc, run_dir.root
            )

    # Before Flower's own exit handler uploads the last log lines and ends the task.
    add_exit_handler(on_exit, run_before_force_exit=True)

    def finished() -> None:
        state["running"] = False

    return finished


def _last_adapter_sha256(root: Path) -> str | None:
    """The global adapter of the last recorded round, from the ledger."""
    lines = ledger_paths(root).ledger.read_text(encoding="ascii").splitlines()
    for line in reversed(lines):
        entry = json.loads(line)
        if entry["kind"] == "round":
            return entry["body"]["global_adapter_sha256"]
    return None
