"""Precision and input guards for SecAgg+ over adapter deltas (pure numpy, no Flower import).

How Flower's SecAgg+ (flwr 1.41) encodes a site's update, which these helpers are derived from:
site i with weight n_i (its `num_examples`) multiplies its vector by
`w_i = round(n_i / max_weight * Q) / Q` (Q = quantization_range), clips every coordinate to
[-clipping_range, clipping_range] *silently*, and stochastically rounds it onto Q levels.
The server divides the unmasked sum by sum(w_i). So a coordinate saturates unless
|w_i * delta| <= clipping_range, and the quantization step of the aggregate grows with
max_weight / sum(n_i).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "aggregate_error_bound",
    "check_delta",
    "check_weight",
    "choose_clipping_range",
    "clip_delta_norm",
    "delta_norm",
    "weight_factor",
]

DEFAULT_QUANTIZATION_RANGE = 2**22  # Flower's default; kept equal so defaults agree


def weight_factor(*, num_examples: float, max_weight: float, quantization_range: int) -> float:
    """The factor w in (0, 1] a site's delta is multiplied by before quantization.

    It is n / max_weight rounded to a multiple of 1 / quantization_range, as Flower does.
    """
    return round(num_examples / max_weight * quantization_range) / quantization_range


def choose_clipping_range(
    *,
    clip_norm: float,
    max_weight: float,
    max_num_examples: float | None = None,
    quantization_range: int = DEFAULT_QUANTIZATION_RANGE,
) -> float:
    """Smallest clipping_range at which no coordinate of any admissible delta saturates.

    A delta with L2 norm <= clip_norm has every coordinate in [-clip_norm, clip_norm] (the
    bound is reached by a delta concentrated on one coordinate, so nothing smaller is safe).
    Flower scales it by w = weight_factor(n) <= weight_factor(max_num_examples) before
    clipping. max_num_examples defaults to max_weight (sites must refuse n > max_weight,
    see `check_weight`); a smaller value tightens the range and refines the quantization step.
    """
    if not (math.isfinite(clip_norm) and clip_norm > 0):
        raise ValueError(f"clip_norm must be a finite number > 0, got {clip_norm!r}")
    if not (math.isfinite(max_weight) and max_weight > 0):
        raise ValueError(f"max_weight must be a finite number > 0, got {max_weight!r}")
    n_max = max_weight if max_num_examples is None else max_num_examples
    if not 0 < n_max <= max_weight:
        raise ValueError(
            f"max_num_examples must be in (0, max_weight={max_weight}], got {n_max!r}; "
            "raise max_weight (weights above it overflow Flower's modular sum)"
        )
    w_max = weight_factor(
        num_examples=n_max, max_weight=max_weight, quantization_range=quantization_range
    )
    return clip_norm * w_max


def aggregate_error_bound(
    *,
    clip_norm: float,
    clipping_range: float,
    quantization_range: int,
    max_weight: float,
    num_examples: Sequence[float],
) -> float:
    """Worst-case absolute error per coordinate of the SecAgg+ weighted mean vs exact FedAvg.

    For deltas with L2 norm <= clip_norm and weights n_i <= max_weight, nothing saturating:
    stochastic rounding moves each site's coordinate by < 2c/Q (c = clipping_range), and
    rounding the weights to multiples of 1/Q moves the mean by <= k * clip_norm / (Q * W) in
    total, where W = sum of the rounded weights and k the number of sites. So the error is
    < k * (2c + clip_norm) / (Q * W). The typical error is about sqrt(k) times smaller
    (the rounding errors are independent and zero-mean).
    """
    k = len(num_examples)
    if k == 0:
        raise ValueError("num_examples is empty; the bound needs at least one site")
    total = sum(
        weight_factor(num_examples=n, max_weight=max_weight, quantization_range=quantization_range)
        for n in num_examples
    )
    if total <= 0:
        raise ValueError(f"the sites' weights round to zero (num_examples={list(num_examples)})")
    return k * (2 * clipping_range + clip_norm) / (quantization_range * total)


def delta_norm(arrays: Sequence[NDArray]) -> float:
    """Global L2 norm over all tensors (the norm a clip bound refers to), in float64."""
    return math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))


def clip_delta_norm(
    *, arrays: Sequence[NDArray], max_norm: float
) -> tuple[list[NDArray], float]:
    """Scale a delta so its global L2 norm is <= max_norm; returns (new arrays, norm before).

    The inputs are not modified. Non-finite deltas are refused, not clipped: scaling a NaN
    hides a training failure.
    """
    if not (math.isfinite(max_norm) and max_norm > 0):
        raise ValueError(f"max_norm must be a finite number > 0, got {max_norm!r}")
    for i, arr in enumerate(arrays):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"delta tensor {i}: contains NaN or infinity; refusing to clip it")
    norm = delta_norm(arrays)
    # A hair below max_norm so float rounding of the scaled sum cannot land just above it.
    scale = min(1.0, max_norm / norm * (1 - 1e-7)) if norm > 0 else 1.0
    return [np.asarray(a) * np.asarray(scale, dtype=np.asarray(a).dtype) for a in arrays], norm


def check_delta(
    *,
    arrays: Sequence[NDArray],
    expected_shapes: Sequence[tuple[int, ...]],
    max_norm: float,
    names: Sequence[str] | None = None,
) -> None:
    """Refuse a delta that must not be masked and sent; ValueError naming the tensor.

    Under SecAgg+ the server sees only the sum, so it cannot spot a site's NaN, a tensor of
    the wrong shape or an oversized update; each site checks its own before masking.
    """
    def label(i: int) -> str:
        return f"delta tensor {i} ({names[i]})" if names is not None and i < len(names) else (
            f"delta tensor {i}"
        )

    if len(arrays) != len(expected_shapes):
        raise ValueError(
            f"delta has {len(arrays)} tensors, expected {len(expected_shapes)} "
            "(the adapter layout differs from the global model's)"
        )
    for i, (arr, shape) in enumerate(zip(arrays, expected_shapes, strict=True)):
        arr = np.asarray(arr)
        if tuple(arr.shape) != tuple(shape):
            raise ValueError(f"{label(i)}: shape {tuple(arr.shape)}, expected {tuple(shape)}")
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"{label(i)}: dtype {arr.dtype}, expected a floating-point dtype")
        if not np.all(np.isfinite(arr)):
            bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(f"{label(i)}: {bad} value(s) are NaN or infinite")
    norm = delta_norm(arrays)
    if not norm <= max_norm:
        largest = max(range(len(arrays)), key=lambda i: delta_norm([arrays[i]]))
        raise ValueError(
            f"delta L2 norm {norm:.6g} exceeds the bound {max_norm:.6g} "
            f"(largest: {label(largest)}, norm {delta_norm([arrays[largest]]):.6g}); "
            "clip it with clip_delta_norm or raise secure_aggregation.delta_clip_norm"
        )


def check_weight(*, num_examples: int, max_weight: float) -> None:
    """Refuse a weight Flower's SecAgg+ would let overflow (it only logs a warning)."""
    if isinstance(num_examples, bool) or not isinstance(num_examples, int | np.integer):
        raise ValueError(f"num_examples must be an integer, got {num_examples!r}")
    if not 0 < num_examples <= max_weight:
        raise ValueError(
            f"num_examples {num_examples} is outside (0, max_weight={max_weight:g}]; "
            "raise secure_aggregation.max_weight to at least the largest per-round example count"
        )
