"""One-run lower bound on ε (Steinke, Nasr, Jagielski 2023, "Privacy auditing with one (1)
training run", Theorem 5.2 and the procedure of their Appendix D).

The game: m canaries, each included in training independently with probability ½. After one
training run the auditor guesses "in" or "out" for r of them (abstaining on the rest) and v
guesses are right. If training is (ε, δ)-DP with respect to each canary, then

    P[v correct] ≤ P[Binomial(r, q) ≥ v] + 2 m δ · max_{i=1..v} P[v > Binomial(r, q) ≥ v − i] / i,

with q = e^ε / (1 + e^ε), the accuracy of ε-randomized response. The lower bound is the largest
ε whose tail probability is still below 1 − confidence: the run is NOT (ε_lb, δ)-DP, at that
confidence. It is a lower bound — a finding, never a certificate: a small value says the
attack failed, not that the data are safe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats  # an Opacus dependency; exact binomial tails

__all__ = ["LowerBound", "epsilon_lower_bound", "guess_counts", "one_run_lower_bound", "p_value"]

# Bisection steps: the bracket [0, ε_max] shrinks 2^-40, far below any reported digit.
_BISECTION_STEPS = 40


def _check_counts(m: int, r: int, v: int) -> None:
    if not (0 <= v <= r <= m):
        raise ValueError(
            f"need 0 <= v <= r <= m (correct guesses <= guesses <= canaries), got m={m}, r={r}, "
            f"v={v}"
        )


def _check_delta(delta: float) -> None:
    if not (0.0 <= delta < 1.0):
        raise ValueError(f"delta is {delta!r}; it must be in [0, 1)")


def p_value(*, m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """Probability of at least `v` correct guesses out of `r` among `m` canaries under an
    (epsilon, delta)-DP training run (Steinke et al., Theorem 5.2). In [0, 1]."""
    _check_counts(m, r, v)
    _check_delta(delta)
    if not (epsilon >= 0.0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon is {epsilon!r}; it must be a finite number >= 0")
    if v == 0:
        return 1.0
    q = 1.0 / (1.0 + math.exp(-epsilon))
    tail = float(stats.binom.sf(v - 1, r, q))  # P[Binomial(r, q) >= v]
    if delta == 0.0:
        return min(tail, 1.0)
    # P[v > Binomial >= v - i] for i = 1..v, divided by i; the δ term takes the worst i.
    pmf = stats.binom.pmf(np.arange(v - 1, -1, -1), r, q)
    alpha = float(np.max(np.cumsum(pmf) / np.arange(1, v + 1)))
    return min(tail + 2.0 * m * delta * alpha, 1.0)


def epsilon_lower_bound(*, m: int, r: int, v: int, delta: float, confidence: float = 0.95) -> float:
    """Largest ε such that `v` of `r` correct guesses would have probability below
    1 − confidence under (ε, delta)-DP; 0.0 when not even ε = 0 is rejected."""
    if not (0.0 < confidence < 1.0):
        raise ValueError(f"confidence is {confidence!r}; it must be in (0, 1), e.g. 0.95")
    level = 1.0 - confidence
    if p_value(m=m, r=r, v=v, epsilon=0.0, delta=delta) >= level:
        return 0.0
    low, high = 0.0, 1.0
    while p_value(m=m, r=r, v=v, epsilon=high, delta=delta) < level:
        low, high = high, 2.0 * high  # p_value grows with ε; r perfect guesses cap ε_lb
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (low + high)
        if p_value(m=m, r=r, v=v, epsilon=mid, delta=delta) < level:
            low = mid
        else:
            high = mid
    return low


def guess_counts(*, scores: Sequence[float], included: Sequence[bool], k: int) -> tuple[int, int]:
    """(r, v): guess "in" for the k highest scores and "out" for the k lowest; r = 2k guesses,
    v of them right. Higher score = more likely a member (e.g. minus the loss)."""
    s = np.asarray(scores, dtype=float)
    inc = np.asarray(included, dtype=bool)
    if s.shape != inc.shape or s.ndim != 1:
        raise ValueError(f"scores {s.shape} and included {inc.shape} must be equal-length lists")
    if not (1 <= k and 2 * k <= len(s)):
        raise ValueError(f"k is {k}; it must be in 1..{len(s) // 2} (half the {len(s)} canaries)")
    # Stable sort on (score, index): ties never depend on the membership bits.
    order = np.argsort(s, kind="stable")
    v = int(inc[order[-k:]].sum() + (~inc[order[:k]]).sum())
    return 2 * k, v


@dataclass(frozen=True)
class LowerBound:
    epsilon: float  # certified not to hold: the run is not (epsilon, delta)-DP, at `confidence`
    delta: float
    confidence: float
    m: int  # canaries in the game
    k: int  # guesses per side that gave the bound (0 when no k rejected ε = 0)
    guesses: int
    correct: int
    ks_tried: tuple[int, ...]


def default_ks(m: int) -> tuple[int, ...]:
    """Guesses per side tried: m/64 .. m/2 in powers of two (m/2: guess on every canary)."""
    ks = sorted({max(1, m // d) for d in (64, 32, 16, 8, 4, 2)} - {0})
    return tuple(k for k in ks if 2 * k <= m)


def one_run_lower_bound(
    *,
    scores: Sequence[float],
    included: Sequence[bool],
    delta: float,
    confidence: float = 0.95,
    ks: Sequence[int] | None = None,
) -> LowerBound:
    """The ε lower bound from one run's canary scores and the secret inclusion bits.

    Each k in `ks` (default `default_ks`) is one test; the confidence is split between them
    (Bonferroni), so choosing the best k after looking does not overstate the bound — the
    paper reports the best k uncorrected, which is not a valid 95% statement.
    """
    m = len(scores)
    if m < 2:
        raise ValueError(f"{m} canary scores; the audit needs at least 2 canaries")
    tried = tuple(ks) if ks is not None else default_ks(m)
    if not tried:
        raise ValueError("ks is empty; give at least one number of guesses per side")
    per_test = 1.0 - (1.0 - confidence) / len(tried)
    best = LowerBound(0.0, delta, confidence, m, 0, 0, 0, tried)
    for k in tried:
        r, v = guess_counts(scores=scores, included=included, k=k)
        eps = epsilon_lower_bound(m=m, r=r, v=v, delta=delta, confidence=per_test)
        if eps > best.epsilon:
            best = LowerBound(eps, delta, confidence, m, k, r, v, tried)
    return best
