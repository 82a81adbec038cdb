"""The one-run ε lower bound (Steinke et al. 2023) against cases with known answers."""

import math

import numpy as np
import pytest
from scipy import stats

from fedft.audit.lower_bound import (
    epsilon_lower_bound,
    guess_counts,
    one_run_lower_bound,
    p_value,
)


def _randomized_response(rng, *, m: int, epsilon: float):
    """An ε-DP mechanism on each membership bit: report it truthfully with prob e^ε/(1+e^ε)."""
    included = rng.random(m) < 0.5
    truthful = rng.random(m) < 1.0 / (1.0 + math.exp(-epsilon))
    reported = np.where(truthful, included, ~included)
    # Scores: the report plus tiny noise, so top/bottom-k picks among equal reports at random.
    return reported + 1e-3 * rng.random(m), included


def test_pure_dp_p_value_is_the_binomial_tail():
    # Prepare
    q = 1 / (1 + math.exp(-0.7))
    # Execute / Assert
    assert p_value(m=50, r=40, v=30, epsilon=0.7, delta=0.0) == pytest.approx(
        stats.binom.sf(29, 40, q)
    )


def test_ten_perfect_guesses_certify_the_closed_form_epsilon():
    # q^10 = 0.05  ->  ε = ln(q / (1 − q))
    q = 0.05 ** (1 / 10)
    assert epsilon_lower_bound(m=10, r=10, v=10, delta=0.0) == pytest.approx(
        math.log(q / (1 - q)), rel=1e-6
    )


def test_delta_weakens_the_bound_and_a_large_delta_voids_it():
    pure = epsilon_lower_bound(m=100, r=100, v=90, delta=0.0)
    approx = epsilon_lower_bound(m=100, r=100, v=90, delta=1e-4)
    assert 0 < approx < pure
    assert epsilon_lower_bound(m=100, r=100, v=90, delta=0.5) == 0.0


def test_perfect_guesses_of_many_canaries_give_a_large_bound():
    included = np.arange(1000) % 2 == 0
    scores = included.astype(float)  # a perfect attack
    bound = one_run_lower_bound(scores=scores, included=included, delta=1e-5)
    assert bound.epsilon > 5.0
    assert bound.correct == bound.guesses


def test_random_guesses_give_zero_almost_always():
    rng = np.random.default_rng(7)
    bounds = [
        one_run_lower_bound(
            scores=rng.random(200), included=rng.random(200) < 0.5, delta=1e-5
        ).epsilon
        for _ in range(100)
    ]
    # At 95% confidence at most ~5% of audits of a leak-free run may report ε > 0.
    assert np.mean(np.array(bounds) > 0) <= 0.12
    assert max(bounds) < 0.5


def test_an_epsilon_dp_mechanism_is_never_over_reported_and_is_audited_tightly():
    # Validity: on randomized response at ε = 1 the bound exceeds 1 in <= 5% of runs.
    rng = np.random.default_rng(11)
    over = 0
    for _ in range(50):
        scores, included = _randomized_response(rng, m=400, epsilon=1.0)
        over += one_run_lower_bound(scores=scores, included=included, delta=0.0).epsilon > 1.0
    assert over <= 7  # seeded; Binomial(50, 0.05) exceeds 7 with probability ~1%
    # Tightness: with many canaries the bound comes close to the true ε.
    scores, included = _randomized_response(rng, m=20_000, epsilon=1.0)
    assert 0.85 < one_run_lower_bound(scores=scores, included=included, delta=0.0).epsilon <= 1.0


def test_guess_counts_takes_the_top_and_bottom_k():
    scores = [0.9, 0.8, 0.1, 0.2, 0.5, 0.4]
    included = [True, False, False, False, True, True]
    # top 2: 0.9 (in, right), 0.8 (out, wrong); bottom 2: 0.1, 0.2 (out, both right)
    assert guess_counts(scores=scores, included=included, k=2) == (4, 3)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"m": 5, "r": 6, "v": 1, "epsilon": 1.0, "delta": 0.0}, "v <= r <= m"),
        ({"m": 5, "r": 4, "v": 1, "epsilon": -1.0, "delta": 0.0}, "epsilon"),
        ({"m": 5, "r": 4, "v": 1, "epsilon": 1.0, "delta": 1.0}, "delta"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        p_value(**kwargs)
