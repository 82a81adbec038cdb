"""Checks of one site's update before it is aggregated, on the path where the server sees
individual updates (plain aggregation, no SecAgg+). Pure functions: the reason an update is
rejected, or None.

A broken or hostile update is rejected, never repaired: a NaN, a missing tensor or an absurd
norm means the site's training failed or the site misbehaves, and averaging it in would
corrupt the global adapter for everyone. Replays (an update byte-identical to one accepted
earlier) are rejected too: an honest site trains from a new global adapter each round, so
its update cannot repeat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fedft.round.masking_bounds import delta_norm


@dataclass(frozen=True)
class UpdateSpec:
    """What an honest update looks like: one floating tensor per global tensor, same shapes,
    L2 norm at most `max_norm` (None: no bound)."""

    shapes: tuple[tuple[int, ...], ...]
    max_norm: float | None

    @classmethod
    def like(cls, reference: Sequence[NDArray], *, max_norm: float | None) -> UpdateSpec:
        return cls(shapes=tuple(tuple(a.shape) for a in reference), max_norm=max_norm)


def update_digest(arrays: Sequence[NDArray]) -> str:
    """Content hash of an update (dtype, shape and bytes of every tensor)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def shape_mismatch(arrays: Sequence[NDArray], *, shapes: Sequence[tuple[int, ...]]) -> str | None:
    """How `arrays` differ in number or shape from `shapes`, or None."""
    if len(arrays) != len(shapes):
        return (
            f"{len(arrays)} tensors sent, {len(shapes)} expected (missing or extra tensors; "
            "is the site on the same config and fedft version?)"
        )
    for i, (a, shape) in enumerate(zip(arrays, shapes, strict=True)):
        if tuple(a.shape) != tuple(shape):
            return f"tensor {i} has shape {tuple(a.shape)}, expected {tuple(shape)}"
    return None


def rejection_reason(
    arrays: Sequence[NDArray],
    *,
    spec: UpdateSpec,
    accepted_before: Mapping[str, int],
) -> str | None:
    """Why `arrays` must not be aggregated, or None. `accepted_before` maps the digests of
    updates accepted in earlier rounds to their round."""
    mismatch = shape_mismatch(arrays, shapes=spec.shapes)
    if mismatch is not None:
        return mismatch
    for i, a in enumerate(arrays):
        if not np.issubdtype(a.dtype, np.floating):
            return f"tensor {i} has dtype {a.dtype}, expected a floating-point type"
        if not np.all(np.isfinite(a)):
            return f"tensor {i} holds NaN or Inf values (the site's training diverged)"
    if spec.max_norm is not None:
        norm = delta_norm(arrays)
        if not norm <= spec.max_norm:
            return f"L2 norm {norm:.4g} exceeds federation.max_update_norm ({spec.max_norm:g})"
    earlier = accepted_before.get(update_digest(arrays))
    if earlier is not None:
        return f"byte-identical to an update accepted in round {earlier} (a replay)"
    return None
