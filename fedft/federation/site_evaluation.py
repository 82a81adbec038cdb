"""Per-site evaluation rounds in Flower's legacy workflow (`evaluation.per_site`).

Flower's `DefaultWorkflow` runs its evaluate workflow after each round's central evaluation
but never for round 0, and `default_evaluate_workflow` waits for every site without a
deadline. `site_evaluation_workflows` gives both workflows: the evaluate one with the
round deadline (`federation.round_timeout`), and the fit one preceded, once, by the sites'
scores of the initial adapter (round 0: the "first" of each site's curve).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flwr.app import Context
from flwr.server import Grid
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, Key
from flwr.server.workflow.default_workflows import default_evaluate_workflow

from fedft.federation.round_timeout import Workflow, with_round_timeout

if TYPE_CHECKING:
    from fedft.federation.strategy import DeltaStrategy

__all__ = ["site_evaluation_workflows"]


def site_evaluation_workflows(
    fit_workflow: Workflow,
    *,
    strategy: DeltaStrategy,
    timeout: float,
    scores_round: Callable[[int], bool] = lambda server_round: True,
) -> tuple[Workflow, Workflow]:
    """(fit workflow, evaluate workflow) for `DefaultWorkflow`; sites score only the rounds
    `scores_round(run's round)` keeps (`evaluation.every_n_rounds`)."""
    evaluate = with_round_timeout(default_evaluate_workflow, timeout=timeout)

    def evaluate_then_flush(grid: Grid, context: Context) -> None:
        current = context.state.config_records[MAIN_CONFIGS_RECORD][Key.CURRENT_ROUND]
        try:
            if scores_round(int(current) + strategy.round_offset):
                evaluate(grid, context)
        finally:
            # Written even when no site answered or the workflow failed: scores are optional.
            strategy.flush_pending()

    def fit(grid: Grid, context: Context) -> None:
        if strategy.awaiting_site_metrics:  # round 0's record (not on resume: it exists)
            cfg = context.state.config_records[MAIN_CONFIGS_RECORD]
            current = cfg[Key.CURRENT_ROUND]
            # Flower's evaluate workflow reads the round from here; it holds 1 by now.
            cfg[Key.CURRENT_ROUND] = 0
            try:
                evaluate_then_flush(grid, context)
            finally:
                cfg[Key.CURRENT_ROUND] = current
        fit_workflow(grid, context)

    return fit, evaluate_then_flush
