"""One-machine simulation: the same ServerApp and ClientApp a deployment runs, driven by
Flower's in-process simulation engine (no detached SuperLink left behind)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fedft.config import Config, config_to_yaml
from fedft.run.environment import prepare_environment
from fedft.run.rundir import RunDir, atomic_write_text

if TYPE_CHECKING:
    from fedft.dp.regime import Regime

log = logging.getLogger(__name__)

class SimulationError(RuntimeError):
    """The simulation did not complete all its rounds."""


@dataclass(frozen=True)
class SimulationResult:
    run_dir: RunDir
    history: list[dict]
    summary: dict


@contextlib.contextmanager
def _flower_logs_to_file(path: Path, *, verbose: bool) -> Iterator[None]:
    """Flower's INFO chatter goes to the run's log file; the terminal keeps our progress."""
    from flwr.supercore.logger import FLOWER_LOGGER, console_handler

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    fedft_logger = logging.getLogger("fedft")
    previous_level, previous_propagate = fedft_logger.level, fedft_logger.propagate
    # Opacus configures the root logger on import; without this, fedft's INFO lines would
    # reach the terminal through it.
    fedft_logger.propagate = verbose
    # Flower's logger also propagates to the root logger, where Opacus's handler (stderr, every
    # level) would print each Flower line on the terminal, or a second time with --verbose.
    flower_propagate = FLOWER_LOGGER.propagate
    FLOWER_LOGGER.propagate = False
    FLOWER_LOGGER.addHandler(handler)
    fedft_logger.addHandler(handler)
    fedft_logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        FLOWER_LOGGER.removeHandler(console_handler)
    try:
        yield
    finally:
        FLOWER_LOGGER.removeHandler(handler)
        FLOWER_LOGGER.propagate = flower_propagate
        fedft_logger.removeHandler(handler)
        fedft_logger.setLevel(previous_level)
        fedft_logger.propagate = previous_propagate
        if console_handler not in FLOWER_LOGGER.handlers:
            FLOWER_LOGGER.addHandler(console_handler)
        handler.close()


def check_inputs(cfg: Config) -> dict:
    """Resolve the model and read train and eval data before any run folder exists: bad input
    (missing model, unreadable or empty data) stops here with one message, leaving nothing behind.
    Returns the data report (rows, bad rows with file:line) to store in the run folder."""
    from fedft.model.load import resolve_model_path
    from fedft.round.workload import eval_set, training_pool
    from fedft.run.keys import load_private_key
    from fedft.run.tracking import missing_tracking_packages

    if cfg.data.eval is not None and cfg.data.train is None:
        raise SimulationError(
            "data.train: a simulation splits data.train across its virtual sites; give it "
            "with data.eval (data.eval alone is a deployment coordinator's config)"
        )
    missing = missing_tracking_packages(cfg.tracking)
    if missing:
        raise SimulationError("; ".join(missing))
    resolve_model_path(cfg.model.path)
    if cfg.ledger.signing_key is not None:
        load_private_key(cfg.ledger.signing_key, what="ledger.signing_key")
    report = {}
    for name, loaded in (("train", training_pool(cfg)), ("eval", eval_set(cfg))):
        report[name] = {
            "source": str(getattr(cfg.data, name) or f"synthetic:{cfg.data.synthetic.kind}"),
            "rows": len(loaded.dataset),
            "bad_rows": len(loaded.bad_rows),
            "bad_row_details": [str(b) for b in loaded.bad_rows[:1000]],
        }
        if len(loaded.dataset) == 0:
            raise SimulationError(
                f"data.{name}: no usable rows in {report[name]['source']} ({len(loaded.bad_rows)} bad; "
                f"`fedft data check {report[name]['source']}` lists them)"
            )
    return report


def site_regimes(cfg: Config, *, measure: bool = True) -> list[Regime]:
    """Each simulated site's DP-SGD plan and regime (`fedft.dp.regime`), before training.

    `measure`: also clip-test the site's first records (a batch of at most 32, one
    forward/backward with Opacus's per-sample hooks, on the untrained adapter). Sizes are the partitions' raw record
    counts, which anonymization does not change.
    """
    from fedft.dp.plan import plan_for_site
    from fedft.dp.regime import assess, clipped_fractions, trainable_dims
    from fedft.round.workload import cached_workload, collator, site_training_data, tokenize

    workload = cached_workload(cfg)
    dims = trainable_dims(workload.model)
    regimes = []
    for i in range(cfg.federation.num_clients):
        records = site_training_data(cfg, partition_id=i, data_path=None).dataset
        plan = plan_for_site(cfg, n_records=len(records))
        clipped = None
        if measure:
            first = tokenize(cfg, workload, records.select(range(min(32, len(records)))))
            batch = collator(cfg, workload)([first[j] for j in range(len(first))])
            clipped = clipped_fractions(workload.model, batch, bounds=plan.group_bounds())
        regimes.append(assess(plan, dims=dims, site=f"site {i}", clipped=clipped))
    return regimes


def _log_dp_plan(cfg: Config, on_dp_plan: Callable[[list[str]], None] | None) -> None:
    from fedft.dp.regime import summary_lines

    lines = summary_lines(site_regimes(cfg))
    for line in lines:
        log.log(logging.WARNING if "WARNING" in line else logging.INFO, "DP plan: %s", line)
    if on_dp_plan is not None:
        on_dp_plan(lines)


@contextlib.contextmanager
def _site_runner(cfg: Config, *, verbose: bool) -> Iterator[None]:
    """What runs the simulated sites while the block runs (`federation.backend`)."""
    if cfg.federation.backend == "ray":
        from fedft.federation.ray_launch import local_ray

        with local_ray(verbose=verbose):
            yield
        return
    from fedft.federation.inprocess_backend import flower_runs_sites_in_process

    previous_term = signal.getsignal(signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, _terminate)
    try:
        with flower_runs_sites_in_process():
            yield
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous_term)


def _terminate(signum: int, frame: object) -> None:  # noqa: ARG001
    """SIGTERM: end now. Flower's threads would outlive an exception in the main thread; the
    run folder needs no clean-up (its files are written atomically; `--resume` continues from
    the last checkpoint), and in-process sites leave no other process behind."""
    os.write(2, b"fedft: terminated (SIGTERM)\n")
    logging.disable(logging.CRITICAL)  # Flower's threads would log the interruption as failures
    os._exit(128 + signum)


def write_data_report(report: dict, run_dir: RunDir) -> None:
    atomic_write_text(run_dir.data_report, json.dumps(report, indent=2))


def simulate(
    cfg: Config,
    run_dir: RunDir,
    *,
    verbose: bool = False,
    on_progress: Callable[[dict], None] | None = None,
    on_round_start: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    resume: bool = False,
    on_dp_plan: Callable[[list[str]], None] | None = None,
) -> SimulationResult:
    """Run `cfg` as a Flower simulation with `federation.num_clients` virtual sites; with
    `resume`, continue the run in `run_dir` from its last checkpoint (same config).

    Under `dp.enabled` each site's DP regime (`site_regimes`, as `fedft dp plan` prints it)
    is logged before training and handed to `on_dp_plan` as lines. `on_stage(text)` names
    the coordinator's next step while no round runs yet (e.g. "evaluating round 0")."""
    prepare_environment(verbose=verbose)
    from flwr.simulation import run_simulation

    from fedft.federation.client_app import build_client_app
    from fedft.federation.server_app import build_server_app
    from fedft.round.coordinator import summarize

    checkpoint = None
    if resume:
        from fedft.federation.resume import open_for_resume

        checkpoint = open_for_resume(cfg, run_dir)
        log.info("resuming %s after round %d", run_dir.root, checkpoint.server_round)
    else:
        atomic_write_text(run_dir.config, config_to_yaml(cfg))
    outcome: dict = {}
    server_app = build_server_app(
        cfg,
        run_dir,
        on_progress=on_progress,
        on_round_start=on_round_start,
        on_stage=on_stage,
        outcome=outcome,
        resume=checkpoint,
    )
    client_app = build_client_app(cfg, progress_dir=run_dir.progress, sites_root=run_dir.root / "sites")
    backend_config = {
        "client_resources": {"num_cpus": cfg.federation.client_cpus, "num_gpus": cfg.federation.client_gpus},
        "init_args": {"logging_level": logging.DEBUG if verbose else logging.ERROR, "log_to_driver": verbose},
    }
    with _flower_logs_to_file(run_dir.log, verbose=verbose), _site_runner(cfg, verbose=verbose):
        if cfg.dp.enabled:
            _log_dp_plan(cfg, on_dp_plan)
        run_simulation(
            server_app=server_app,
            client_app=client_app,
            num_supernodes=cfg.federation.num_clients,
            backend_name=cfg.federation.backend,
            backend_config=backend_config,
            verbose_logging=verbose,
        )
    if "error" in outcome:
        raise SimulationError(f"simulation failed: {outcome['error']}") from outcome["error"]
    coordinator = outcome.get("coordinator")
    if coordinator is None:
        raise SimulationError(f"simulation ended without completing; see {run_dir.log}")
    rounds_done = coordinator.history[-1]["round"] if coordinator.history else -1
    if rounds_done != cfg.federation.rounds:
        raise SimulationError(f"simulation stopped after round {rounds_done} of {cfg.federation.rounds}")
    summary = summarize(
        coordinator.history, task=cfg.data.task, base_model_bytes=coordinator.base_model_bytes
    )
    # Auditors need both to detect a ledger re-signed with another key or rolled back.
    summary["ledger"] = {
        "key_fingerprint": coordinator.ledger.fingerprint,
        "key_custody": coordinator.ledger.custody["custody"],
        "head_hash": coordinator.ledger.head_hash,
    }
    atomic_write_text(run_dir.summary, json.dumps(summary, indent=2))
    from fedft.run.report.evaluation import write_plots

    write_plots(run_dir.root)  # per-site scores, confusion matrix, ε per site (DP runs)
    if cfg.tracking.tensorboard or cfg.tracking.mlflow:
        from fedft.run.tracking import export_run

        # After the summary: the sinks copy what the finished run folder holds.
        export_run(run_dir, tracking=cfg.tracking)
    return SimulationResult(run_dir=run_dir, history=coordinator.history, summary=summary)
