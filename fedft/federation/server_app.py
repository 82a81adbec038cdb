"""The coordinator's Flower ServerApp (legacy workflow API, the one SecAgg+ runs on).

`build_server_app(...)` binds a resolved config and run folder (in-process simulation);
the module-level `app` reads them from Flower's run config (`flwr run`, deployments):
`config` = path of the fedft YAML, optional `run-dir`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

from flwr.app import Context
from flwr.server import Grid, LegacyContext, ServerApp, ServerConfig
from flwr.server.workflow import DefaultWorkflow
from flwr.server.workflow.default_workflows import default_fit_workflow

from fedft.config import Config, config_to_yaml
from fedft.federation.head_fit_round import HeadFit
from fedft.federation.resume import checkpoint_now, restore_optimizer_state
from fedft.federation.round_timeout import with_round_timeout
from fedft.federation.run_config import config_from_run_config
from fedft.federation.secagg import (
    aggregate_error_bound,
    build_secaggplus_workflow,
    install_secure_prg,
)
from fedft.federation.site_evaluation import site_evaluation_workflows
from fedft.federation.strategy import DeltaStrategy, build_inner_strategy
from fedft.model.pooling import model_pooling
from fedft.model.state import frozen_adapter_sha256, state_sha256, trainable_state
from fedft.round.checkpoint import Checkpoint, restore_random_states, save_checkpoint
from fedft.round.coordinator import Coordinator
from fedft.round.update_checks import UpdateSpec
from fedft.round.workload import cached_workload
from fedft.run.keys import load_private_key
from fedft.run.ledger import PrivacyLedger
from fedft.run.rundir import RunDir, atomic_write_text, create_run_dir, new_run_id

log = logging.getLogger(__name__)

# On import: the server unmasks with the same PRG the sites mask with.
install_secure_prg()


def delta_norm_bound(cfg: Config, *, num_values: int) -> Callable[[list[int]], float] | None:
    """Largest L2 norm an honest update can have (sites clip to delta_clip_norm; the weighted
    mean of clipped deltas stays within it, plus SecAgg+'s quantization error). An aggregate
    beyond it means masks did not cancel (e.g. a PRG mismatch) and is rejected."""
    sa = cfg.secure_aggregation
    if not sa.enabled:
        return None

    def bound(num_examples: list[int]) -> float:
        per_coordinate = aggregate_error_bound(
            clip_norm=sa.delta_clip_norm,
            clipping_range=sa.effective_clipping_range,
            quantization_range=sa.quantization_range,
            max_weight=sa.max_weight,
            num_examples=num_examples,
        )
        return sa.delta_clip_norm + per_coordinate * math.sqrt(num_values)

    return bound


def _evaluate_config(cfg: Config) -> dict:
    """What sites need to score a round: whether to advance their local-only baseline, and
    the FedProx term it trains with (as their federated rounds do)."""
    out: dict = {"local_baseline": cfg.evaluation.local_baseline}
    if cfg.strategy.name == "fedprox":
        out["proximal_mu"] = float(cfg.strategy.proximal_mu)
    return out


def run_rounds(
    grid: Grid,
    context: Context,
    *,
    cfg: Config,
    run_dir: RunDir,
    on_progress: Callable[[dict], None] | None = None,
    on_round_start: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    resume: Checkpoint | None = None,
    on_ledger: Callable[[PrivacyLedger], None] | None = None,
) -> Coordinator:
    """Round 0 evaluation, then `federation.rounds` rounds of fit + central evaluation; with
    `resume`, the rounds after the checkpoint's. A checkpoint is written after every round.
    `on_ledger` receives the run's ledger handle before round 0."""
    if cfg.ledger.signing_key is not None:  # before any work: a bad key path fails at once
        load_private_key(cfg.ledger.signing_key, what="ledger.signing_key")
    coordinator = Coordinator(cfg, cached_workload(cfg), run_dir, on_progress=on_progress, resumed_at=resume)
    if on_ledger is not None:
        on_ledger(coordinator.ledger)
    if on_stage is not None and resume is None:  # held-out set ready: round 0's evaluation next
        on_stage("evaluating round 0")
    initial = coordinator.initial_arrays() if resume is None else resume.global_arrays
    inner = build_inner_strategy(cfg, initial=initial)
    if resume is not None:
        restore_optimizer_state(inner, resume.optimizer_state)
        restore_random_states(resume)

    def end_round(summary, loss, metrics, arrays) -> None:
        coordinator.end_round(summary, loss, metrics, arrays)
        if summary.server_round > 0:  # after the ledger entry and metrics line it covers
            save_checkpoint(
                run_dir.root,
                checkpoint_now(
                    server_round=summary.server_round,
                    global_arrays=arrays,
                    strategy=inner,
                    ledger_entries=coordinator.ledger.count,
                    metrics_lines=len(coordinator.history),
                ),
            )

    done = 0 if resume is None else resume.server_round

    def scores_round(server_round: int) -> bool:
        return cfg.evaluation.scores_round(server_round, rounds=cfg.federation.rounds)

    def evaluate(server_round: int, arrays: list) -> tuple:
        # A round the cadence skips is recorded without scores (eval_loss None).
        return coordinator.evaluate(server_round, arrays) if scores_round(server_round) else (None, {})

    strategy = DeltaStrategy(
        inner,
        initial=initial,
        evaluate_fn=evaluate,
        on_round_end=end_round,
        on_round_start=on_round_start,
        fit_config={"frozen_sha256": frozen_adapter_sha256(coordinator.workload.model)},
        delta_norm_bound=delta_norm_bound(cfg, num_values=sum(a.size for a in initial)),
        min_results=cfg.federation.min_fit_clients,
        # Under SecAgg+ the server sees only the sum; the sites check their own update instead.
        update_spec=None
        if cfg.secure_aggregation.enabled
        else UpdateSpec.like(initial, max_norm=cfg.strategy.max_update_norm),
        round_offset=done,
        site_evaluation=cfg.evaluation.per_site,
        evaluate_config=_evaluate_config(cfg),
        head_fit=HeadFit.for_run(
            cfg,
            list(trainable_state(coordinator.workload.model)),
            pooling=model_pooling(coordinator.workload.model),
        ),
    )
    legacy = LegacyContext(
        context=context, config=ServerConfig(num_rounds=cfg.federation.rounds - done), strategy=strategy
    )
    sa = cfg.secure_aggregation
    fit_workflow = (
        build_secaggplus_workflow(sa, on_halt=strategy.record_halted_round)
        if sa.enabled
        else with_round_timeout(default_fit_workflow, timeout=cfg.federation.round_timeout)
    )
    evaluate_workflow = None
    if cfg.evaluation.per_site:
        fit_workflow, evaluate_workflow = site_evaluation_workflows(
            fit_workflow,
            strategy=strategy,
            timeout=cfg.federation.round_timeout,
            scores_round=scores_round,
        )
    DefaultWorkflow(fit_workflow=fit_workflow, evaluate_workflow=evaluate_workflow)(grid, legacy)
    strategy.flush_pending()
    if strategy.error is not None:
        raise strategy.error
    coordinator.ledger.append(
        "run_end",
        {
            "rounds_completed": coordinator.history[-1]["round"] if coordinator.history else 0,
            "final_adapter_sha256": state_sha256(strategy.global_arrays),
        },
    )
    return coordinator


def build_server_app(
    cfg: Config,
    run_dir: RunDir,
    *,
    on_progress: Callable[[dict], None] | None = None,
    on_round_start: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    outcome: dict | None = None,
    resume: Checkpoint | None = None,
) -> ServerApp:
    """A ServerApp bound to `cfg`; `outcome` receives the coordinator or the error."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        try:
            coordinator = run_rounds(
                grid,
                context,
                cfg=cfg,
                run_dir=run_dir,
                on_progress=on_progress,
                on_round_start=on_round_start,
                on_stage=on_stage,
                resume=resume,
            )
        except BaseException as exc:  # recorded, then re-raised: Flower only logs it
            if outcome is not None:
                outcome["error"] = exc
            raise
        if outcome is not None:
            outcome["coordinator"] = coordinator

    return app


app = ServerApp()


@app.main()
def _main_from_run_config(grid: Grid, context: Context) -> None:
    from fedft.federation import flwr_run  # noqa: PLC0415 (Flower's runtime only; see its doc)

    flwr_run.log_through_flower()
    # The YAML travels in the app bundle; resolved against the installed app folder.
    cfg = config_from_run_config(context.run_config)
    timeout = context.run_config.get(flwr_run.SITES_TIMEOUT_KEY, flwr_run.DEFAULT_SITES_TIMEOUT_S)
    connected = flwr_run.wait_for_sites(
        grid,
        needed=flwr_run.sites_needed(cfg),
        num_clients=cfg.federation.num_clients,
        timeout_s=flwr_run.sites_timeout(grid, float(timeout)),
    )
    root = context.run_config.get("run-dir") or str(cfg.run.output_dir / new_run_id(cfg.run.name))
    run_dir = create_run_dir(Path(str(root)))
    atomic_write_text(run_dir.config, config_to_yaml(cfg))
    log.info("fedft run folder: %s (%d sites connected)", run_dir.root, connected)
    guard = flwr_run.StopGuard(run_dir)
    try:
        coordinator = run_rounds(grid, context, cfg=cfg, run_dir=run_dir, on_ledger=guard.attach)
    finally:
        guard.finished()
    # What auditors check the ledger against (docs/compliance-guide.md).
    log.info(
        "fedft run finished: ledger key fingerprint %s, head hash %s; run folder %s",
        coordinator.ledger.fingerprint,
        coordinator.ledger.head_hash,
        run_dir.root,
    )
