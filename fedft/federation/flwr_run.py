"""What the coordinator's ServerApp needs under Flower's own runtime (`flwr run`, a SuperLink):
fedft's log lines in `flwr log` once each, a fast failure when sites are missing, and a closed
ledger after `flwr stop`.

`fedft simulate` does not use this module: it runs the apps in-process and keeps its own
terminal (`fedft.federation.simulation`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flwr.server import Grid
from flwr.supercore.exit import add_exit_handler
from flwr.supercore.logger import FLOWER_LOGGER, console_handler
from flwr.superlink.grid import InMemoryGrid

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


def sites_timeout(grid: Grid, configured: float) -> float:
    """Seconds to wait for sites: none in Flower's simulation (`flwr run` on a local
    SuperLink), which registers all its SuperNodes before the ServerApp starts."""
    return 0.0 if isinstance(grid, InMemoryGrid) else configured


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


class StopGuard:
    """Closes the ledger of a run stopped by `flwr stop`, and keeps it closed.

    On `flwr stop` Flower raises SIGINT in the process running the ServerApp and calls its
    exit handlers from the signal handler, in the main thread, while the ServerApp may go on in
    another (Flower's simulation runs it in a thread). So the coordinator's own ledger handle
    is shared under a lock: the exit handler appends `run_end` through it, and any append
    after that fails instead of extending a closed ledger with a stale chain."""

    def __init__(self, run_dir: RunDir) -> None:
        self.run_dir = run_dir
        self._lock = threading.Lock()
        self._running = True
        self._append: Callable[..., dict] | None = None
        self._ledger: PrivacyLedger | None = None
        # Before Flower's own exit handler uploads the last log lines and ends the task.
        add_exit_handler(self.on_exit, run_before_force_exit=True)

    def attach(self, ledger: PrivacyLedger) -> None:
        """Guard the coordinator's ledger handle (call before the first round)."""
        original = ledger.append

        def append(kind, body):
            with self._lock:
                if not self._running:
                    raise RuntimeError("the run was stopped (flwr stop); its ledger is closed")
                return original(kind, body)

        self._append, self._ledger = original, ledger
        ledger.append = append  # type: ignore[method-assign]

    def finished(self) -> None:
        """The run ended on its own: closed normally, or failed (a failed run's ledger stays
        open, as the audit expects of an unfinished run)."""
        with self._lock:
            self._running = False

    def on_exit(self) -> None:
        # A timeout, not a wait: the signal may have interrupted this very thread mid-append.
        if not self._lock.acquire(timeout=5):
            log.error("run stopped mid-append; ledger left open; run folder %s", self.run_dir.root)
            return
        try:
            if not self._running or self._append is None or self._ledger is None:
                return
            self._running = False
            history = read_metrics(self.run_dir.metrics)
            self._append(
                "run_end",
                {
                    "rounds_completed": history[-1]["round"] if history else 0,
                    "final_adapter_sha256": _last_adapter_sha256(self.run_dir.root),
                    "stopped": "flwr stop",
                },
            )
            log.info(
                "run stopped; ledger closed: key fingerprint %s, head hash %s; run folder %s",
                self._ledger.fingerprint,
                self._ledger.head_hash,
                self.run_dir.root,
            )
        except Exception as exc:  # noqa: BLE001 - an exit handler must not raise
            log.error("run stopped; ledger not closed (%s); run folder %s", exc, self.run_dir.root)
        finally:
            self._lock.release()


def _last_adapter_sha256(root: Path) -> str | None:
    """The global adapter of the last recorded round, from the ledger."""
    lines = ledger_paths(root).ledger.read_text(encoding="ascii").splitlines()
    for line in reversed(lines):
        entry = json.loads(line)
        if entry["kind"] == "round":
            return entry["body"]["global_adapter_sha256"]
    return None
