"""Precision guards: clipping range from the clip norm, delta checks before masking."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.common.secure_aggregation.quantization import dequantize, quantize

from fedft.federation import secagg

Q = 2**22


@pytest.mark.parametrize(
    ("clip_norm", "max_weight", "max_num_examples", "expected"),
    [
        (10.0, 1000.0, None, 10.0),  # sites refuse n > max_weight: factor <= 1
        (10.0, 1000.0, 250, 2.5),  # known smaller counts tighten the range
        (1.0, 300.0, 300, 1.0),
        (0.5, 7.0, 3, 0.5 * round(3 / 7 * Q) / Q),  # Flower's rounded weight factor
    ],
)
def test_choose_clipping_range(clip_norm, max_weight, max_num_examples, expected):
    got = secagg.choose_clipping_range(
        clip_norm=clip_norm, max_weight=max_weight, max_num_examples=max_num_examples
    )
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"clip_norm": 0.0, "max_weight": 10.0}, "clip_norm"),
        ({"clip_norm": float("nan"), "max_weight": 10.0}, "clip_norm"),
        ({"clip_norm": 1.0, "max_weight": -1.0}, "max_weight"),
        ({"clip_norm": 1.0, "max_weight": 10.0, "max_num_examples": 11}, "raise max_weight"),
    ],
)
def test_choose_clipping_range_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        secagg.choose_clipping_range(**kwargs)


def test_worst_case_delta_does_not_saturate_at_the_chosen_range():
    # Prepare: all of the clip norm on one coordinate, at the largest weight allowed.
    clip_norm, max_weight = 3.0, 500.0
    delta = np.zeros(10)
    delta[4] = -clip_norm
    c = secagg.choose_clipping_range(clip_norm=clip_norm, max_weight=max_weight)
    w = secagg.weight_factor(num_examples=500, max_weight=max_weight, quantization_range=Q)
    # Execute: Flower's own quantization, as secaggplus_mod applies it.
    back = dequantize(quantize([delta * w], c, Q), c, Q)[0]
    half = dequantize(quantize([delta * w], c / 2, Q), c / 2, Q)[0]
    # Assert: exact up to one quantization step at c; silently clipped at c / 2.
    assert np.max(np.abs(back - delta * w)) <= 2 * c / Q
    assert half[4] == pytest.approx(-c / 2)


def test_aggregate_error_bound_shrinks_with_max_weight_close_to_counts():
    counts = [120, 160, 200]
    loose = secagg.aggregate_error_bound(
        clip_norm=1.0, clipping_range=1.0, quantization_range=Q, max_weight=1000.0, num_examples=counts
    )
    tight = secagg.aggregate_error_bound(
        clip_norm=1.0, clipping_range=1.0, quantization_range=Q, max_weight=200.0, num_examples=counts
    )
    assert tight == pytest.approx(loose * 200 / 1000, rel=1e-5)
    assert loose == pytest.approx(3 * 3.0 / (Q * 0.48), rel=1e-5)


SHAPES = [(2, 3), (4,)]


def _delta(scale: float = 0.1) -> list[np.ndarray]:
    return [np.full(s, scale, dtype=np.float32) for s in SHAPES]


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ([np.zeros((2, 3), np.float32)], "delta has 1 tensors, expected 2"),
        ([np.zeros((3, 2), np.float32), np.zeros(4, np.float32)], r"delta tensor 0 \(a\): shape \(3, 2\)"),
        ([np.zeros((2, 3), np.float32), np.array([0, 1, np.nan, 0], np.float32)], r"delta tensor 1 \(b\): 1 value"),
        ([np.zeros((2, 3), np.float32), np.array([0, np.inf, 0, 0])], r"delta tensor 1 \(b\): 1 value"),
        ([np.zeros((2, 3), np.int64), np.zeros(4)], r"delta tensor 0 \(a\): dtype int64"),
        ([np.zeros((2, 3)), np.full(4, 1.0)], r"norm 2 exceeds the bound 1.5 \(largest: delta tensor 1 \(b\)"),
    ],
)
def test_check_delta_names_the_tensor(arrays, match):
    with pytest.raises(ValueError, match=match):
        secagg.check_delta(arrays=arrays, expected_shapes=SHAPES, max_norm=1.5, names=["a", "b"])


def test_check_delta_accepts_a_delta_within_bound():
    secagg.check_delta(arrays=_delta(), expected_shapes=SHAPES, max_norm=1.0)


def test_clip_delta_norm_scales_without_mutating():
    # Prepare
    arrays = _delta(1.0)  # norm sqrt(10)
    original = [a.copy() for a in arrays]
    # Execute
    clipped, norm = secagg.clip_delta_norm(arrays=arrays, max_norm=1.0)
    # Assert
    assert norm == pytest.approx(np.sqrt(10))
    assert secagg.delta_norm(clipped) <= 1.0
    assert secagg.delta_norm(clipped) == pytest.approx(1.0, rel=1e-6)
    assert all(np.array_equal(a, o) for a, o in zip(arrays, original, strict=True))
    assert [c.dtype for c in clipped] == [np.float32, np.float32]
    secagg.check_delta(arrays=clipped, expected_shapes=SHAPES, max_norm=1.0)


def test_clip_delta_norm_leaves_small_deltas_and_refuses_nan():
    small, _ = secagg.clip_delta_norm(arrays=_delta(0.01), max_norm=1.0)
    assert all(np.array_equal(a, b) for a, b in zip(small, _delta(0.01), strict=True))
    with pytest.raises(ValueError, match="delta tensor 0: contains NaN"):
        secagg.clip_delta_norm(arrays=[np.array([np.nan])], max_norm=1.0)


@pytest.mark.parametrize(("n", "ok"), [(1, True), (1000, True), (1001, False), (0, False), (True, False), (2.5, False)])
def test_check_weight(n, ok):
    if ok:
        secagg.check_weight(num_examples=n, max_weight=1000.0)
    else:
        with pytest.raises(ValueError):
            secagg.check_weight(num_examples=n, max_weight=1000.0)
