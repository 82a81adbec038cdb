"""Site-level DP (DP-FedAvg, McMahan et al. 2018): the server mechanism's parameters and account.

Pure functions and one frozen plan; the Flower wiring is in `fedft.federation.site_dp`.

The mechanism, per round: m of the N sites are sampled; each clips its whole update Δ_i to L2
norm C (`site_dp.clipping_norm`); the server forms the plain mean (1/m) Σ Δ_i — every site
weighs the same — and adds Gaussian noise of standard deviation σ·C/m per coordinate
(σ = `site_dp.noise_multiplier`). Adding or removing one site moves Σ Δ_i by at most C, so the
mean moves by at most C/m and the noise is σ times that sensitivity: one Gaussian mechanism per
round with noise multiplier σ. Sites are a sample of rate q = m/N, and the accountant composes
`rounds` subsampled Gaussian steps (`site_level_epsilon`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fedft.config import Config
from fedft.config.dp import Accountant, SiteDPConfig
from fedft.dp.accounting import site_level_epsilon

__all__ = [
    "SiteLevelPlan",
    "default_site_delta",
    "noise_std",
    "plan_site_dp",
    "sampled_per_round",
]


def sampled_per_round(*, num_clients: int, fraction_fit: float, min_fit_clients: int) -> int:
    """Sites Flower's legacy FedAvg samples per round when all `num_clients` are connected:
    max(int(N × fraction_fit), min_fit_clients) (`FedAvg.num_fit_clients`)."""
    if num_clients < 1 or not 0 < fraction_fit <= 1 or min_fit_clients < 1:
        raise ValueError(
            f"num_clients ({num_clients}), fraction_fit ({fraction_fit}) and min_fit_clients "
            f"({min_fit_clients}) must be >= 1, in (0, 1] and >= 1"
        )
    return max(int(num_clients * fraction_fit), min_fit_clients)


def noise_std(*, noise_multiplier: float, clipping_norm: float, num_sampled: int) -> float:
    """Std of the Gaussian noise per coordinate of the mean update: σ·C/m (Flower's
    `compute_stdv`; equal to σ·C on the sum, divided by m)."""
    if not (math.isfinite(noise_multiplier) and noise_multiplier >= 0):
        raise ValueError(f"noise_multiplier is {noise_multiplier!r}; it must be >= 0")
    if not (math.isfinite(clipping_norm) and clipping_norm > 0):
        raise ValueError(f"clipping_norm is {clipping_norm!r}; it must be > 0")
    if num_sampled < 1:
        raise ValueError(f"num_sampled is {num_sampled}; at least one site per round")
    return noise_multiplier * clipping_norm / num_sampled


def default_site_delta(*, num_clients: int) -> float:
    """δ = 1/(10 N): well below 1/N, at which publishing one whole site would be 'DP'."""
    if num_clients < 1:
        raise ValueError(f"num_clients is {num_clients}; a federation has at least one site")
    return 1.0 / (10 * num_clients)


@dataclass(frozen=True)
class SiteLevelPlan:
    """The server's DP-FedAvg mechanism for a run (fixed at the start)."""

    noise_multiplier: float
    clipping_norm: float
    num_sampled: int  # m, sites per round
    num_clients: int  # N, sites in the federation
    delta: float
    accountant: Accountant

    @property
    def sample_rate(self) -> float:
        return self.num_sampled / self.num_clients

    @property
    def noise_std(self) -> float:
        return noise_std(
            noise_multiplier=self.noise_multiplier,
            clipping_norm=self.clipping_norm,
            num_sampled=self.num_sampled,
        )

    def epsilon(self, *, rounds: int) -> float:
        """ε per site after `rounds` noisy aggregations (0.0 for none)."""
        if rounds < 0:
            raise ValueError(f"rounds is {rounds}; it must be >= 0")
        if rounds == 0:
            return 0.0
        return site_level_epsilon(
            noise_multiplier=self.noise_multiplier,
            sample_rate=self.sample_rate,
            rounds=rounds,
            delta=self.delta,
            accountant=self.accountant,
        )

    def ledger_entry(self, *, rounds: int) -> dict[str, Any]:
        """The round entry's `site_dp` block after `rounds` noisy aggregations (this one
        included): the parameters an auditor recomputes ε from, and ε itself."""
        return {
            "noise_multiplier": self.noise_multiplier,
            "clipping_norm": self.clipping_norm,
            "sample_rate": self.sample_rate,
            "num_sampled": self.num_sampled,
            "num_clients": self.num_clients,
            "noise_std": self.noise_std,
            "delta": self.delta,
            "accountant": self.accountant,
            "rounds": rounds,
            "epsilon_round": self.epsilon(rounds=1),
            "epsilon_total": self.epsilon(rounds=rounds),
        }


def plan_site_dp(
    site_dp: SiteDPConfig, *, num_clients: int, fraction_fit: float, min_fit_clients: int
) -> SiteLevelPlan:
    """The plan for `site_dp` (which must be enabled) in a federation of `num_clients`."""
    if not site_dp.enabled:
        raise ValueError("site_dp.enabled is false; plan_site_dp is only for site-level DP")
    assert site_dp.noise_multiplier is not None and site_dp.clipping_norm is not None  # schema
    m = sampled_per_round(
        num_clients=num_clients, fraction_fit=fraction_fit, min_fit_clients=min_fit_clients
    )
    if m > num_clients:
        raise ValueError(
            f"federation.min_fit_clients ({min_fit_clients}) exceeds federation.num_clients "
            f"({num_clients}); lower it"
        )
    delta = site_dp.target_delta or default_site_delta(num_clients=num_clients)
    if delta >= 1.0 / num_clients:
        raise ValueError(
            f"site_dp.target_delta: {delta:g} is not below 1/{num_clients} (one over "
            "federation.num_clients); lower it or leave it unset"
        )
    return SiteLevelPlan(
        noise_multiplier=site_dp.noise_multiplier,
        clipping_norm=site_dp.clipping_norm,
        num_sampled=m,
        num_clients=num_clients,
        delta=delta,
        accountant=site_dp.accountant,
    )


def site_level_plan(cfg: Config) -> SiteLevelPlan | None:
    """The server's DP-FedAvg plan, or None when `site_dp` is off."""
    if not cfg.site_dp.enabled:
        return None
    fed = cfg.federation
    return plan_site_dp(
        cfg.site_dp,
        num_clients=fed.num_clients,
        fraction_fit=fed.fraction_fit,
        min_fit_clients=fed.min_fit_clients,
    )
