"""Flower's own strategies, configured from `strategy:` and `federation:` (the inner strategy
`DeltaStrategy` wraps); with `site_dp`, inside Flower's server-noise wrapper."""

from __future__ import annotations

import numpy as np
from flwr.common import ndarrays_to_parameters
from flwr.server.strategy import FedAdam, FedAvg, FedMedian, FedProx, FedTrimmedAvg, Krum, Strategy

from fedft.config import Config
from fedft.dp.site_level import site_level_plan
from fedft.federation.site_dp import wrap_with_site_dp

__all__ = ["build_inner_strategy"]


def build_inner_strategy(cfg: Config, *, initial: list[np.ndarray]) -> Strategy:
    """One of Flower's own strategies, configured from `strategy:` and `federation:`; with
    `site_dp`, wrapped in Flower's server-noise wrapper (schema: FedAvg or FedProx only)."""
    inner = _flower_strategy(cfg, initial=initial)
    plan = site_level_plan(cfg)
    return inner if plan is None else wrap_with_site_dp(inner, plan)


def _flower_strategy(cfg: Config, *, initial: list[np.ndarray]) -> Strategy:
    fed, s = cfg.federation, cfg.strategy
    common = dict(
        fraction_fit=fed.fraction_fit,
        min_fit_clients=fed.min_fit_clients,
        min_available_clients=fed.num_clients if fed.fraction_fit == 1.0 else fed.min_fit_clients,
        fraction_evaluate=0.0,
        min_evaluate_clients=0,
        initial_parameters=ndarrays_to_parameters(initial),
    )
    if s.name == "fedavg":
        return FedAvg(**common)
    if s.name == "fedprox":
        return FedProx(**common, proximal_mu=s.proximal_mu)
    # Robust aggregators see weights (global + Δ); global is shared, so each is the robust
    # statistic of the deltas shifted by global. Config refuses them with SecAgg+ and site_dp.
    if s.name == "fedmedian":
        return FedMedian(**common)
    if s.name == "fedtrimmedavg":
        return FedTrimmedAvg(**common, beta=s.trim_fraction)
    if s.name == "krum":
        return Krum(**common, num_malicious_clients=s.num_malicious)
    return FedAdam(
        **common, eta=s.server_learning_rate, beta_1=s.beta_1, beta_2=s.beta_2, tau=s.tau
    )
