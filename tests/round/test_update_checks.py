"""Broken and hostile updates on the plain-aggregation path: each is rejected with a reason."""

from __future__ import annotations

import numpy as np
import pytest

from fedft.round.update_checks import UpdateSpec, rejection_reason, update_digest

GLOBAL = [np.zeros((4, 3), np.float32), np.zeros((3,), np.float32)]
SPEC = UpdateSpec.like(GLOBAL, max_norm=10.0)


def _honest() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(0, 0.1, a.shape).astype(np.float32) for a in GLOBAL]


def _with(i: int, value) -> list[np.ndarray]:
    arrays = _honest()
    arrays[i] = value
    return arrays


@pytest.mark.parametrize(
    ("update", "fragment"),
    [
        (_with(0, np.full((4, 3), np.nan, np.float32)), "NaN or Inf"),
        (_with(1, np.array([0.0, np.inf, 0.0], np.float32)), "NaN or Inf"),
        (_with(0, np.zeros((3, 4), np.float32)), "tensor 0 has shape (3, 4), expected (4, 3)"),
        (_with(1, np.zeros((3,), np.int64)), "tensor 1 has dtype int64"),
        (_with(1, np.array(["a", "b", "c"])), "tensor 1 has dtype <U1"),
        (_honest()[:1], "1 tensors sent, 2 expected"),
        ([*_honest(), np.zeros(2, np.float32)], "3 tensors sent, 2 expected"),
        (_with(0, np.full((4, 3), 1e6, np.float32)), "exceeds federation.max_update_norm (10)"),
    ],
)
def test_broken_updates_are_rejected_with_a_reason(update, fragment):
    # Execute
    reason = rejection_reason(update, spec=SPEC, accepted_before={})

    # Assert
    assert reason is not None and fragment in reason


def test_an_honest_update_passes():
    assert rejection_reason(_honest(), spec=SPEC, accepted_before={}) is None


def test_a_replayed_update_is_rejected_naming_its_round():
    # Prepare
    update = _honest()
    seen = {update_digest(update): 2}

    # Execute
    reason = rejection_reason([a.copy() for a in update], spec=SPEC, accepted_before=seen)

    # Assert
    assert reason == "byte-identical to an update accepted in round 2 (a replay)"


def test_digest_changes_with_any_byte_and_with_dtype():
    update = _honest()
    changed = [a.copy() for a in update]
    changed[1][2] = np.nextafter(changed[1][2], np.float32(1))
    assert update_digest(update) != update_digest(changed)
    assert update_digest(update) != update_digest([a.astype(np.float64) for a in update])


def test_no_norm_bound_accepts_large_finite_updates():
    spec = UpdateSpec.like(GLOBAL, max_norm=None)
    assert (
        rejection_reason(_with(0, np.full((4, 3), 1e6, np.float32)), spec=spec, accepted_before={})
        is None
    )
