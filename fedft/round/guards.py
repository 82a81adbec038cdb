"""Checks that stop a round (or the run) rather than publish an aggregate that is wrong.

Pure functions on counts, weights and norms: each raises `RoundFailedError` with the reason
and the fix, or returns. The Flower strategy calls them; the per-update checks (shape, NaN,
replay) are in `update_checks`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from numpy.typing import NDArray

from fedft.round.masking_bounds import delta_norm
from fedft.round.summary import MAX_ABORTED_IN_A_ROW, RoundFailedError


def norm_bound_violation(
    delta: Sequence[NDArray], *, bound: float, server_round: int
) -> str | None:
    """Why `delta` is over the norm bound (under SecAgg+ the one update is the aggregate, whose
    norm exposes masks that did not cancel), or None."""
    norm = delta_norm(delta)
    if np.isfinite(norm) and norm <= bound:
        return None
    return (
        f"round {server_round}: update rejected, L2 norm {norm:.4g} exceeds the bound "
        f"{bound:.4g} (under SecAgg+: masks did not cancel; are all parties on the same fedft?)"
    )


def check_enough_updates(
    *, server_round: int, arrived: int, sampled: int, min_results: int, failures: Sequence[str]
) -> None:
    """E.g. sites that declined for lack of privacy budget: too few left to go on."""
    if arrived < max(min_results, 1):
        raise RoundFailedError(
            f"round {server_round}: {arrived} of the {sampled} sampled sites returned "
            f"an update, fewer than federation.min_fit_clients ({min_results}); first failure: "
            f"{failures[0] if failures else 'unknown'}"
        )


def check_sampled_for_site_dp(*, server_round: int, sampled: int, planned: int) -> None:
    """E.g. more SuperNodes connected than federation.num_clients: the noise (σC/m) and the
    sampling rate (m/N) the account assumes would both be wrong."""
    if sampled != planned:
        raise RoundFailedError(
            f"round {server_round}: {sampled} sites sampled, but site-level DP was planned "
            f"for {planned} per round; connect exactly "
            "federation.num_clients sites or adjust federation.num_clients"
        )


def check_site_level_round(
    *,
    server_round: int,
    planned: int,
    arrived: int,
    failures: Sequence[str],
    weights: Collection[int],
) -> None:
    """Stop the run rather than publish an aggregate the server noise does not cover."""
    if failures or arrived != planned:
        # Flower's wrapper returns no aggregate when a site failed: a mean over m' < m
        # sites moves by up to C/m' per site, more than the σ·C/m noise is calibrated to.
        first = failures[0] if failures else "none reported"
        raise RoundFailedError(
            f"round {server_round}: site-level DP needs an update from each of the {planned} "
            f"sampled sites, {arrived} arrived (first failure: {first}); the run stops "
            "rather than publish an under-noised aggregate"
        )
    if len(set(weights)) > 1:
        raise RoundFailedError(
            f"round {server_round}: under site-level DP every site must report the same "
            f"weight (a plain mean), got {sorted(set(weights))}; are all sites on the same fedft "
            "and config?"
        )


def check_aborted_in_a_row(*, server_round: int, aborted_in_a_row: int) -> None:
    """After MAX_ABORTED_IN_A_ROW aborted rounds the federation is not working: stop."""
    if aborted_in_a_row >= MAX_ABORTED_IN_A_ROW:
        raise RoundFailedError(
            f"round {server_round}: {aborted_in_a_row} rounds in a row aborted (no update "
            "reached the server); sites are down or too slow — raise secure_aggregation.timeout "
            "on a slow or busy machine"
        )
