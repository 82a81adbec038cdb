"""Site-level DP (DP-FedAvg): the server mechanism's noise and its account, checked against
independent computations (the analytic Gaussian mechanism, Google's dp-accounting)."""

import math

import pytest
from scipy.stats import norm

from fedft.config.dp import SiteDPConfig
from fedft.dp.accounting import site_level_epsilon
from fedft.dp.site_level import (
    default_site_delta,
    noise_std,
    plan_site_dp,
    sampled_per_round,
)


def exact_gaussian_epsilon(*, sigma: float, rounds: int, delta: float) -> float:
    """ε of `rounds` Gaussian mechanisms (sensitivity 1, std σ) without subsampling, exactly.

    T compositions equal one Gaussian with std σ/√T (Dong, Roth, Su 2019); its tight δ(ε) is
    Φ(-ε s + 1/(2s)) − e^ε Φ(-ε s − 1/(2s)) with s = σ/√T (Balle & Wang 2018), inverted by
    bisection. No Opacus code.
    """
    s = sigma / math.sqrt(rounds)

    def delta_of(eps: float) -> float:
        return norm.cdf(-eps * s + 1 / (2 * s)) - math.exp(eps) * norm.cdf(-eps * s - 1 / (2 * s))

    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if delta_of(mid) > delta else (lo, mid)
    return hi


def test_noise_std_is_sigma_times_clipping_over_sampled_sites_as_flower_computes_it():
    from flwr.supercore.differential_privacy import compute_stdv

    # Execute
    ours = noise_std(noise_multiplier=1.2, clipping_norm=0.5, num_sampled=3)

    # Assert: by hand, and Flower's own formula (the one its wrapper uses)
    assert ours == pytest.approx(1.2 * 0.5 / 3, abs=1e-15)
    assert ours == pytest.approx(compute_stdv(1.2, 0.5, 3), abs=1e-15)


def test_plan_samples_like_flower_and_defaults_delta_below_one_over_n():
    # Prepare
    site_dp = SiteDPConfig(enabled=True, noise_multiplier=1.0, clipping_norm=0.5)

    # Execute
    all_sites = plan_site_dp(site_dp, num_clients=4, fraction_fit=1.0, min_fit_clients=2)
    some = plan_site_dp(site_dp, num_clients=10, fraction_fit=0.35, min_fit_clients=2)

    # Assert
    assert (all_sites.num_sampled, all_sites.sample_rate) == (4, 1.0)
    assert (some.num_sampled, some.sample_rate) == (3, 0.3)  # int(10 × 0.35) = 3
    assert sampled_per_round(num_clients=10, fraction_fit=0.1, min_fit_clients=2) == 2
    assert all_sites.delta == default_site_delta(num_clients=4) == 1 / 40
    assert all_sites.noise_std == pytest.approx(0.5 / 4)


def test_plan_refuses_a_delta_that_would_allow_leaking_a_whole_site():
    site_dp = SiteDPConfig(enabled=True, noise_multiplier=1.0, clipping_norm=0.5, target_delta=0.3)
    with pytest.raises(ValueError, match=r"site_dp.target_delta: 0.3 is not below 1/4"):
        plan_site_dp(site_dp, num_clients=4, fraction_fit=1.0, min_fit_clients=2)
    with pytest.raises(ValueError, match="site_dp.enabled is false"):
        plan_site_dp(SiteDPConfig(), num_clients=4, fraction_fit=1.0, min_fit_clients=2)


@pytest.mark.parametrize("accountant", ["prv", "rdp"])
def test_all_sites_sampled_matches_the_exact_gaussian_composition(accountant):
    # Prepare: 4 of 4 sites, 6 rounds, σ = 1.5 — no amplification, so ε is known exactly.
    exact = exact_gaussian_epsilon(sigma=1.5, rounds=6, delta=1 / 40)

    # Execute
    eps = site_level_epsilon(
        noise_multiplier=1.5, sample_rate=1.0, rounds=6, delta=1 / 40, accountant=accountant
    )

    # Assert: a guarantee is never below the exact value; PRV is within its error bound of it,
    # RDP is looser but within 25%.
    assert eps >= exact
    assert eps <= (exact + 0.02 if accountant == "prv" else 1.25 * exact)


@pytest.mark.parametrize("accountant", ["prv", "rdp"])
def test_subsampled_sites_against_google_dp_accounting(accountant):
    # Prepare: 3 of 10 sites per round, 30 rounds, σ = 1.0, δ = 1/(10 N)
    from dp_accounting import dp_event, pld, rdp

    event = dp_event.SelfComposedDpEvent(
        dp_event.PoissonSampledDpEvent(0.3, dp_event.GaussianDpEvent(1.0)), 30
    )
    if accountant == "rdp":
        independent = rdp.RdpAccountant().compose(event).get_epsilon(0.01)
    else:
        independent = (
            pld.PLDAccountant(value_discretization_interval=1e-4).compose(event).get_epsilon(0.01)
        )

    # Execute
    eps = site_level_epsilon(
        noise_multiplier=1.0, sample_rate=0.3, rounds=30, delta=0.01, accountant=accountant
    )

    # Assert: never more than 5% below the independent value (the bar), nor far above
    assert 0.95 * independent <= eps <= 1.05 * independent + 0.02
