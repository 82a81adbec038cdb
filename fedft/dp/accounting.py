"""Privacy accounting: pure functions over Opacus's accountants, keyword-only.

A history is a sequence of `(noise_multiplier, sample_rate, steps)` triples, one per run of
identical Poisson-subsampled Gaussian steps (Opacus's own history format). ε is always
computed over the whole history of a party: a PrivacyEngine re-created each round would
account only that round.

Composition does not depend on order, so triples with the same (noise, rate) are merged
before accounting: the result is identical, and the PRV accountant stays fast however many
rounds a site has trained.

Groups (`group_size` k > 1, `dp.group_size`): ε for any k records together — a patient's k
notes, a canary planted k times. Under Poisson sampling each of the k records joins a batch
independently, so one step adds j·C of signal with j ~ Binomial(k, q): a mixture-of-Gaussians
mechanism (Ganesh 2024, arXiv:2310.15526), accounted exactly with dp-accounting's privacy
loss distributions. Far tighter than the generic group-privacy bound k·ε at δ·k·e^{(k−1)ε}.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import get_args

import numpy as np

from fedft.config.dp import Accountant

# dp_accounting, Opacus's accountants and scipy are imported where ε is computed: together
# they are a quarter of a simulated site's import time (sympy included), and every run
# imports this module (the DP planning and ledger code) whether or not DP is on.

__all__ = [
    "Accountant",
    "Step",
    "calibrate_noise",
    "compress_history",
    "default_delta",
    "epsilon_spent",
    "MAX_NOISE_MULTIPLIER",
    "site_level_epsilon",
]

Step = tuple[float, float, int]  # (noise_multiplier, sample_rate, steps)

ACCOUNTANTS: tuple[str, ...] = get_args(Accountant)

# Calibration gives up above this noise multiplier: the gradient signal would drown (an update
# is ~noise_multiplier × clipping norm / batch size of noise per step), and the accountants
# slow down to seconds per evaluation at larger noise.
MAX_NOISE_MULTIPLIER = 1000.0

# Groups are accounted with PLDs whatever dp.accountant says (Opacus has no group accountant).
# PLD grid for groups: pessimistic rounding keeps every value an upper bound; 1e-2 is within
# 0.5% of a 10x finer grid (measured at k = 4, 16) and 10x faster.
_GROUP_PLD_INTERVAL = 1e-2


def _check_accountant(accountant: str) -> None:
    if accountant not in ACCOUNTANTS:
        raise ValueError(
            f"accountant is {accountant!r}; choose one of {', '.join(ACCOUNTANTS)} (dp.accountant)"
        )


def _check_delta(delta: float, *, key: str = "delta") -> None:
    if not (isinstance(delta, int | float) and math.isfinite(delta) and 0 < delta < 1):
        raise ValueError(f"{key} is {delta!r}; it must be in (0, 1), e.g. 1e-5")


def _check_step(step: Sequence[float], *, index: int) -> Step:
    if len(step) != 3:
        raise ValueError(
            f"history[{index}] is {tuple(step)!r}; give (noise_multiplier, sample_rate, steps)"
        )
    noise, rate, steps = float(step[0]), float(step[1]), step[2]
    if not (math.isfinite(noise) and noise > 0):
        raise ValueError(f"history[{index}]: noise_multiplier is {noise!r}; it must be > 0")
    if not (0 < rate <= 1):
        raise ValueError(f"history[{index}]: sample_rate is {rate!r}; it must be in (0, 1]")
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"history[{index}]: steps is {steps!r}; it must be an integer >= 0")
    return noise, rate, int(steps)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence accountant noise that does not affect the result.

    RDP warns when the best order is the largest one it tries (the bound is valid, only not
    the tightest); PRV takes log(0) at sample rate 1, where the affected branch is unused.
    """
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        yield


def compress_history(history: Iterable[Sequence[float]]) -> list[Step]:
    """Validated history with equal (noise, rate) merged and zero-step entries dropped.

    Order of first appearance is kept, so the result is deterministic.
    """
    merged: dict[tuple[float, float], int] = {}
    for i, step in enumerate(history):
        noise, rate, steps = _check_step(step, index=i)
        if steps:
            merged[(noise, rate)] = merged.get((noise, rate), 0) + steps
    return [(noise, rate, steps) for (noise, rate), steps in merged.items()]


def _check_group(group_size: int) -> None:
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise ValueError(f"group_size is {group_size!r}; it must be an integer >= 1")


def _group_epsilon(steps: list[Step], *, delta: float, group_size: int) -> float:
    from dp_accounting import dp_event
    from dp_accounting.pld import PLDAccountant
    from scipy.stats import binom

    acc = PLDAccountant(value_discretization_interval=_GROUP_PLD_INTERVAL)
    sensitivities = list(range(group_size + 1))
    for noise, rate, count in steps:
        probs = binom.pmf(sensitivities, group_size, rate).tolist()
        mixture = dp_event.MixtureOfGaussiansDpEvent(noise, sensitivities, probs)
        acc.compose(dp_event.SelfComposedDpEvent(mixture, count))
    return float(acc.get_epsilon(delta))


def epsilon_spent(
    *,
    history: Iterable[Sequence[float]],
    delta: float,
    accountant: Accountant,
    group_size: int = 1,
) -> float:
    """ε of the composition of every step in `history`, at `delta`, for any `group_size`
    records together (1 = per record).

    0.0 for an empty history. "prv" returns the upper end of Opacus's error-bounded PRV
    estimate (eps_error 0.01), so the value is a guarantee, not an estimate; groups use
    pessimistic PLDs (module docstring), also upper bounds.
    """
    _check_accountant(accountant)
    _check_delta(delta)
    _check_group(group_size)
    steps = compress_history(history)
    if not steps:
        return 0.0
    return _composed_epsilon(tuple(steps), delta, accountant, group_size)


# A site's round asks for the same ε twice (the budget check, then the write-ahead record);
# group PLDs take up to seconds each. The function is pure, so a small cache is exact.
@functools.lru_cache(maxsize=128)
def _composed_epsilon(
    steps: tuple[Step, ...], delta: float, accountant: Accountant, group_size: int
) -> float:
    if group_size > 1:
        return _group_epsilon(list(steps), delta=delta, group_size=group_size)
    from opacus.accountants import create_accountant

    acc = create_accountant(mechanism=accountant)
    acc.history = list(steps)
    with _quiet():
        return float(acc.get_epsilon(delta=delta))


def calibrate_noise(
    *,
    target_epsilon: float,
    target_delta: float,
    sample_rate: float,
    steps: int,
    accountant: Accountant,
    group_size: int = 1,
    epsilon_tolerance: float = 0.01,
) -> float:
    """Smallest noise multiplier (to `epsilon_tolerance`) whose ε after `steps` is <= target
    (for groups of `group_size` records).

    Opacus's bisection (`get_noise_multiplier`), or the same bisection over the group
    accountant; the returned noise never overshoots the target. Raises ValueError, naming
    dp.target_epsilon, when even MAX_NOISE_MULTIPLIER does not reach it (e.g. ε = 0.05 at
    δ = 1e-5 with RDP, whose bound never falls below ~0.1).
    """
    _check_accountant(accountant)
    _check_delta(target_delta, key="target_delta")
    if not (math.isfinite(target_epsilon) and target_epsilon > 0):
        raise ValueError(f"target_epsilon is {target_epsilon!r}; it must be a finite number > 0")
    _check_step((1.0, sample_rate, steps), index=0)
    if steps < 1:
        raise ValueError(f"steps is {steps}; calibration needs at least 1 planned step")
    _check_group(group_size)

    def eps_at(noise: float) -> float:
        return epsilon_spent(
            history=[(noise, sample_rate, steps)],
            delta=target_delta,
            accountant=accountant,
            group_size=group_size,
        )

    at_max = eps_at(MAX_NOISE_MULTIPLIER)
    if at_max > target_epsilon:
        raise ValueError(
            f"dp.target_epsilon: {target_epsilon:g} is not reachable with δ={target_delta:g}, "
            f"sample rate {sample_rate:g} and {steps} steps: even noise multiplier "
            f"{MAX_NOISE_MULTIPLIER:g} gives ε={at_max:.3g} ({accountant}); raise "
            "dp.target_epsilon, or plan fewer rounds or local steps"
        )
    if group_size > 1:
        return _bisect_noise(eps_at, target_epsilon, epsilon_tolerance)
    from opacus.accountants.utils import get_noise_multiplier

    with _quiet():
        noise = get_noise_multiplier(
            target_epsilon=target_epsilon,
            target_delta=target_delta,
            sample_rate=sample_rate,
            steps=steps,
            accountant=accountant,
            epsilon_tolerance=epsilon_tolerance,
        )
    return float(noise)


def _bisect_noise(eps_at: Callable[[float], float], target: float, tolerance: float) -> float:
    """Opacus's get_noise_multiplier search over any ε(noise), which falls as noise grows:
    double until ε <= target, then bisect until ε is within `tolerance` below it."""
    low, high = 0.0, 10.0
    eps_high = eps_at(high)
    while eps_high > target:  # ends: ε(MAX_NOISE_MULTIPLIER) <= target was checked
        low, high = high, min(2 * high, MAX_NOISE_MULTIPLIER)
        eps_high = eps_at(high)
    while eps_high < target - tolerance and high - low > 1e-4:
        mid = (low + high) / 2
        eps_mid = eps_at(mid)
        if eps_mid > target:
            low = mid
        else:
            high, eps_high = mid, eps_mid
    return high


def site_level_epsilon(
    *,
    noise_multiplier: float,
    sample_rate: float,
    rounds: int,
    delta: float,
    accountant: Accountant,
) -> float:
    """ε per site of DP-FedAvg after `rounds` rounds.

    Each round is a subsampled Gaussian over sites: sensitivity = the clipping norm, noise std =
    noise_multiplier × clipping norm on the sum, sample_rate = sampled sites / all sites.
    """
    return epsilon_spent(
        history=[(noise_multiplier, sample_rate, rounds)], delta=delta, accountant=accountant
    )


def default_delta(*, n_records: int) -> float:
    """δ = 1/(10 n): well below 1/n, the level at which publishing one whole record is 'DP'."""
    if isinstance(n_records, bool) or n_records < 1:
        raise ValueError(f"n_records is {n_records!r}; a site needs at least one record")
    return 1.0 / (10 * n_records)
