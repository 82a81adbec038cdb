"""Exposure of a secret (Carlini et al. 2019, "The Secret Sharer").

A canary's secret is ranked by its log-likelihood under the model among R sequences of the
same format (the secret itself and R − 1 random candidates): rank 1 = the model prefers the
secret to every candidate. exposure = log2 R − log2 rank, in [0, log2 R] bits. An unmemorized
secret sits at a uniformly random rank, so its expected exposure is about 1/ln 2 ≈ 1.44 bits
(whatever R); a memorized one approaches log2 R. With sampled candidates this estimates the
exposure over the whole format space, capped at log2 R.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ExposureSummary", "exposure", "rank_among", "summarize_exposures"]


def rank_among(*, secret: float, candidates: Sequence[float]) -> int:
    """1 + the number of candidates at least as likely as the secret (ties count against the
    secret, so a model that scores everything alike gets no exposure)."""
    c = np.asarray(candidates, dtype=float)
    if not math.isfinite(secret) or not np.isfinite(c).all():
        raise ValueError("log-likelihoods must be finite")
    return 1 + int((c >= secret).sum())


def exposure(*, secret: float, candidates: Sequence[float]) -> float:
    """Exposure in bits of a secret with log-likelihood `secret` among `candidates`'
    log-likelihoods (R = len(candidates) + 1)."""
    if len(candidates) < 1:
        raise ValueError("exposure needs at least one candidate (audit.canaries.candidates >= 2)")
    total = len(candidates) + 1
    return math.log2(total) - math.log2(rank_among(secret=secret, candidates=candidates))


@dataclass(frozen=True)
class ExposureSummary:
    candidates: int  # R: sequences ranked per canary, the secret included
    max_exposure: float  # log2 R
    included_mean: float
    held_out_mean: float
    included_median: float
    held_out_median: float
    gap: float  # included_mean − held_out_mean
    gap_stderr: float  # standard error of the gap (Welch); the noise a gap must clear


def _stats(values: np.ndarray) -> tuple[float, float, float]:
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    var = float(values.var(ddof=1)) / values.size if values.size > 1 else float("nan")
    return float(values.mean()), float(np.median(values)), var


def summarize_exposures(
    *, exposures: Sequence[float], included: Sequence[bool], candidates: int
) -> ExposureSummary:
    e = np.asarray(exposures, dtype=float)
    inc = np.asarray(included, dtype=bool)
    if e.shape != inc.shape:
        raise ValueError(f"{e.size} exposures for {inc.size} inclusion bits; give one per canary")
    mean_in, median_in, var_in = _stats(e[inc])
    mean_out, median_out, var_out = _stats(e[~inc])
    return ExposureSummary(
        candidates=candidates,
        max_exposure=math.log2(candidates),
        included_mean=mean_in,
        held_out_mean=mean_out,
        included_median=median_in,
        held_out_median=median_out,
        gap=mean_in - mean_out,
        gap_stderr=math.sqrt(var_in + var_out),
    )
