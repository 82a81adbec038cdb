"""Round guards: each stops the run with the reason, or lets the round go on."""

import numpy as np
import pytest

from fedft.round.guards import (
    check_aborted_in_a_row,
    check_enough_updates,
    check_sampled_for_site_dp,
    check_site_level_round,
    norm_bound_violation,
)
from fedft.round.summary import RoundFailedError


@pytest.mark.parametrize(
    ("delta", "rejected"),
    [([np.array([0.6, 0.8])], False), ([np.array([3.0, 4.0])], True), ([np.array([np.nan])], True)],
)
def test_norm_bound_violation(delta, rejected):
    reason = norm_bound_violation(delta, bound=1.5, server_round=4)
    assert (reason is not None) == rejected
    if rejected:
        assert reason.startswith("round 4: update rejected, L2 norm")


def test_too_few_updates_stop_the_run_naming_the_first_failure():
    check_enough_updates(server_round=1, arrived=2, sampled=3, min_results=2, failures=["x"])
    with pytest.raises(RoundFailedError, match=r"1 of the 3 sampled.*\(2\); first failure: x"):
        check_enough_updates(server_round=1, arrived=1, sampled=3, min_results=2, failures=["x"])
    with pytest.raises(RoundFailedError, match="first failure: unknown"):
        check_enough_updates(server_round=1, arrived=0, sampled=3, min_results=0, failures=[])


def test_site_level_dp_needs_every_planned_site_with_one_weight():
    check_sampled_for_site_dp(server_round=1, sampled=3, planned=3)
    with pytest.raises(
        RoundFailedError, match="4 sites sampled, but site-level DP was planned for 3"
    ):
        check_sampled_for_site_dp(server_round=1, sampled=4, planned=3)
    check_site_level_round(server_round=1, planned=2, arrived=2, failures=[], weights=[1, 1])
    with pytest.raises(RoundFailedError, match="each of the 2 sampled sites, 1 arrived"):
        check_site_level_round(server_round=1, planned=2, arrived=1, failures=[], weights=[1])
    with pytest.raises(RoundFailedError, match=r"got \[1, 5\]"):
        check_site_level_round(server_round=1, planned=2, arrived=2, failures=[], weights=[5, 1])


def test_three_aborted_rounds_in_a_row_stop_the_run():
    check_aborted_in_a_row(server_round=2, aborted_in_a_row=2)
    with pytest.raises(RoundFailedError, match="3 rounds in a row aborted"):
        check_aborted_in_a_row(server_round=3, aborted_in_a_row=3)
