"""Continuing a run from its last checkpoint (`fedft simulate CONFIG --resume RUN_DIR`).

What the server needs beyond the global adapter: the server optimizer's state (FedAdam's
moments and its own copy of the weights), the RNG states that drive site sampling and DP
noise, and the run folder trimmed back to the checkpoint (metrics of a half-finished round
are dropped; the ledger is append-only, so a `resume` entry records where the run picked up).
"""

from __future__ import annotations

import json
import random

import numpy as np
from flwr.server.strategy import FedOpt, Strategy

from fedft.config import Config, config_to_yaml
from fedft.config.base import load_yaml, read_yaml
from fedft.federation.global_rng import GLOBAL_RNG_LOCK
from fedft.round.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from fedft.run.metrics import read_metrics
from fedft.run.rundir import RunDir, atomic_write_text

# FedOpt family (FedAdam, FedYogi, FedAdagrad): everything its next step depends on.
_FEDOPT_STATE = ("current_weights", "m_t", "v_t")


def _flower_strategy(strategy: Strategy) -> Strategy:
    # Flower's DP wrappers keep the wrapped strategy in `.strategy`.
    return getattr(strategy, "strategy", strategy)


def optimizer_state(strategy: Strategy) -> dict[str, list[np.ndarray]]:
    inner = _flower_strategy(strategy)
    if not isinstance(inner, FedOpt):
        return {}
    return {
        name: list(getattr(inner, name)) for name in _FEDOPT_STATE if getattr(inner, name, None)
    }


def restore_optimizer_state(strategy: Strategy, state: dict[str, list[np.ndarray]]) -> None:
    inner = _flower_strategy(strategy)
    if state and not isinstance(inner, FedOpt):
        raise CheckpointError(
            f"the checkpoint holds server optimizer state ({', '.join(state)}) but strategy is "
            f"{type(inner).__name__}; resume with the config the run started with"
        )
    for name, arrays in state.items():
        setattr(inner, name, [np.array(a) for a in arrays])


def checkpoint_now(
    *,
    server_round: int,
    global_arrays: list[np.ndarray],
    strategy: Strategy,
    ledger_entries: int,
    metrics_lines: int,
) -> Checkpoint:
    # Under the lock: a site still running in this process (in-process backend, its round
    # timed out) has its own generator states installed until it returns.
    with GLOBAL_RNG_LOCK:
        python_state, numpy_state = random.getstate(), np.random.get_state()
    return Checkpoint(
        server_round=server_round,
        global_arrays=[np.array(a) for a in global_arrays],
        optimizer_state=optimizer_state(strategy),
        python_random_state=python_state,
        numpy_random_state=numpy_state,
        ledger_entries=ledger_entries,
        metrics_lines=metrics_lines,
    )


def open_for_resume(cfg: Config, run_dir: RunDir) -> Checkpoint:
    """The run's checkpoint, after checking `cfg` is the config the run started with and
    trimming metrics.jsonl back to it. Raises CheckpointError saying what to do."""
    started = read_yaml(run_dir.config)
    now = load_yaml(config_to_yaml(cfg))
    if started != now:
        changed = sorted(k for k in set(started) | set(now) if started.get(k) != now.get(k))
        raise CheckpointError(
            f"{run_dir.root}: the config differs from the one the run started with (sections: "
            f"{', '.join(changed)}); resume with {run_dir.config}"
        )
    ckpt = load_checkpoint(run_dir.root)
    if ckpt.server_round >= cfg.federation.rounds:
        raise CheckpointError(
            f"{run_dir.root}: all {cfg.federation.rounds} rounds are complete; nothing to resume"
        )
    records = read_metrics(run_dir.metrics)[: ckpt.metrics_lines]
    atomic_write_text(run_dir.metrics, "".join(json.dumps(r) + "\n" for r in records))
    return ckpt
