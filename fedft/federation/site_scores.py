"""The two halves of a per-site evaluation round, for `DeltaStrategy`: what each site is
asked, and what the server keeps of the replies (numeric scores by site id)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flwr.common import EvaluateIns, EvaluateRes, Parameters, Scalar, parameters_to_ndarrays
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy

from fedft.model.state import state_sha256
from fedft.round.summary import SITE_ID_METRIC, site_scores

__all__ = ["evaluate_instructions", "scores_by_site"]

log = logging.getLogger(__name__)


def evaluate_instructions(
    parameters: Parameters, client_manager: ClientManager, *, config: dict[str, Scalar]
) -> list[tuple[ClientProxy, EvaluateIns]]:
    """Every connected site scores the global adapter (all of them receive it, whether or not
    they trained this round); the adapter's hash goes along, as with training."""
    config = {**config, "global_sha256": state_sha256(parameters_to_ndarrays(parameters))}
    clients = sorted(client_manager.all().items())
    return [(proxy, EvaluateIns(parameters, dict(config))) for _, proxy in clients]


def scores_by_site(
    results: list[tuple[ClientProxy, EvaluateRes]],
    failures: list[tuple[ClientProxy, EvaluateRes] | BaseException],
    *,
    server_round: int,
    site_name: Callable[[str], str],
) -> dict[str, dict[str, float]]:
    """{site id: its eval_*/local_* scores and n_eval}; a site that failed to evaluate is
    logged and left out: scores are informative, they never stop a run."""
    scores = {}
    for proxy, res in results:
        site = str(res.metrics.get(SITE_ID_METRIC) or site_name(proxy.cid))
        scores[site] = {**site_scores(res.metrics), "n_eval": int(res.num_examples)}
    for failure in failures:
        reason = failure if isinstance(failure, BaseException) else failure[1].status.message
        log.warning("round %s: a site's evaluation failed: %s", server_round, reason)
    return dict(sorted(scores.items()))
