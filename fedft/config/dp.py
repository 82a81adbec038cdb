"""The `dp:` and `site_dp:` sections: differential privacy per record and per site.

`dp` is sample-level DP-SGD at every site (Opacus over the trainable LoRA tensors): each
record of a site is protected. `site_dp` is DP-FedAvg on the server (sites clip their update,
the server adds Gaussian noise to the aggregate): each site as a whole is protected. The two
are independent and may be combined. docs/privacy-guarantees.md explains both.

Boundary values are rejected here (ε ≤ 0, δ ∉ (0, 1), noise ≤ 0, clipping ≤ 0); rules that
need other sections are in `dp_cross_errors`, which the schema calls. δ for a site is fixed at
the site, where its record count n is known (default 1/(10 n), see
`fedft.dp.accounting.default_delta`).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from fedft.config.base import StrictModel

__all__ = ["Accountant", "DPConfig", "SiteDPConfig", "dp_cross_errors"]

# Opacus accountants fedft offers. "prv" (numerical composition of privacy loss random
# variables) is tighter; "rdp" (Rényi DP) is the classic, more conservative bound.
Accountant = Literal["prv", "rdp"]

# Group accounting sums a mixture of k + 1 Gaussians per step; beyond this it gets slow, and
# the noise a group this large needs leaves little to learn.
MAX_GROUP_SIZE = 256


def _positive(value: Any, *, key: str, fix: str, below_one: bool = False) -> Any:
    """None or a finite number > 0 (and < 1 when `below_one`); the error names key and fix."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0 or (below_one and value >= 1):
        bounds = "in (0, 1)" if below_one else "a finite number > 0"
        raise ValueError(f"{key} must be {bounds}, got {value!r}; {fix}")
    return float(value)


class DPConfig(StrictModel):
    """Sample-level DP-SGD at each site (per record)."""

    enabled: bool = False
    noise_multiplier: float | None = Field(
        None, description="Gaussian noise std / max_grad_norm; give this or target_epsilon"
    )
    target_epsilon: float | None = Field(
        None,
        description="ε to reach after federation.rounds rounds; the site calibrates the noise",
    )
    target_delta: float | None = Field(
        None, description="δ; None = 1/(10 n) for a site with n records (must stay below 1/n)"
    )
    max_grad_norm: float = Field(
        1.0,
        description=(
            "Per-example gradient clipping norm (L2); with clipping per_group, the LoRA "
            "tensors' budget"
        ),
    )
    clipping: Literal["flat", "per_group"] = Field(
        "flat",
        description=(
            "flat: one norm over all trainable tensors. per_group: the classification head "
            "and the LoRA tensors are clipped separately (head_max_grad_norm, max_grad_norm), "
            "each group noised in proportion to its own bound, so a large head gradient no "
            "longer takes the LoRA tensors' share"
        ),
    )
    head_max_grad_norm: float | None = Field(
        None, description="Per-example clipping norm of the classification head (per_group only)"
    )
    head_budget_share: float | None = Field(
        None,
        description=(
            "per_group only: the share of the noise budget spent on the head, in (0, 1); the "
            "head's noise is σ·C_head/√share, the LoRA tensors' σ·C/√(1 − share). None = 0.5, "
            "an equal split. Privacy is the same for every share (one Gaussian mechanism)"
        ),
    )
    expected_batch_size: int | None = Field(
        None,
        description=(
            "Expected Poisson batch under DP (the sampling rate is 1/ceil(n/B)); None = "
            "training.batch_size. DP-SGD wants large batches: noise per example falls as 1/B"
        ),
    )
    physical_batch_size: int = Field(
        32,
        description=(
            "Examples per forward/backward pass: a large Poisson batch is processed in pieces "
            "of this size and noised once (memory stays bounded; privacy is unchanged)"
        ),
    )
    max_epsilon: float | None = Field(
        None, description="Budget cap: a site declines any round that would take ε above it"
    )
    accountant: Accountant = "prv"
    group_size: int = Field(
        1,
        description=(
            "Records protected together: ε holds for any this many records of a site at once "
            "(e.g. the most notes one patient has); 1 = per record"
        ),
    )

    @field_validator("group_size", mode="before")
    @classmethod
    def _group(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_GROUP_SIZE:
            raise ValueError(
                f"dp.group_size must be an integer from 1 to {MAX_GROUP_SIZE}, got {v!r}; give "
                "the most records one person (patient, customer) contributes, or 1"
            )
        return v

    @field_validator("noise_multiplier", mode="before")
    @classmethod
    def _noise(cls, v: Any) -> Any:
        return _positive(
            v, key="dp.noise_multiplier", fix="typical values are 0.5 to 2 (0 would add no noise)"
        )

    @field_validator("target_epsilon", mode="before")
    @classmethod
    def _target(cls, v: Any) -> Any:
        return _positive(v, key="dp.target_epsilon", fix="typical values are 1 to 10")

    @field_validator("target_delta", mode="before")
    @classmethod
    def _delta(cls, v: Any) -> Any:
        return _positive(
            v,
            key="dp.target_delta",
            below_one=True,
            fix="leave it unset for 1/(10 n), or give e.g. 1e-5 (below 1/records)",
        )

    @field_validator("max_grad_norm", mode="before")
    @classmethod
    def _clip(cls, v: Any) -> Any:
        if v is None:
            raise ValueError("dp.max_grad_norm must be a finite number > 0, got None; e.g. 1.0")
        return _positive(v, key="dp.max_grad_norm", fix="e.g. 1.0")

    @field_validator("head_max_grad_norm", mode="before")
    @classmethod
    def _head_clip(cls, v: Any) -> Any:
        return _positive(v, key="dp.head_max_grad_norm", fix="e.g. 1.0 (normalised embeddings)")

    @field_validator("head_budget_share", mode="before")
    @classmethod
    def _share(cls, v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
            raise ValueError(
                f"dp.head_budget_share must be a number strictly between 0 and 1, got {v!r}; "
                "e.g. 0.9 (the head's share; LoRA gets the rest), or leave it unset for 0.5"
            )
        return float(v)

    @field_validator("expected_batch_size", "physical_batch_size", mode="before")
    @classmethod
    def _batch(cls, v: Any, info: Any) -> Any:
        if v is None and info.field_name == "expected_batch_size":
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(
                f"dp.{info.field_name} must be a positive integer, got {v!r}; e.g. 256 "
                "(expected_batch_size) or 32 (physical_batch_size)"
            )
        return v

    @field_validator("max_epsilon", mode="before")
    @classmethod
    def _cap(cls, v: Any) -> Any:
        return _positive(v, key="dp.max_epsilon", fix="give the largest ε a site may spend, e.g. 8")

    @model_validator(mode="after")
    def _clipping_groups(self) -> DPConfig:
        if self.clipping == "per_group" and self.head_max_grad_norm is None:
            raise ValueError(
                "dp.clipping is per_group but dp.head_max_grad_norm is not set; give the "
                "head's clipping norm (e.g. 1.0), or use clipping: flat"
            )
        if self.clipping == "flat" and self.head_max_grad_norm is not None:
            raise ValueError(
                "dp.head_max_grad_norm is set but dp.clipping is flat (one norm for all "
                "tensors); set dp.clipping: per_group, or remove it"
            )
        if self.clipping == "flat" and self.head_budget_share is not None:
            raise ValueError(
                "dp.head_budget_share is set but dp.clipping is flat (one group, one noise "
                "scale); set dp.clipping: per_group, or remove it"
            )
        return self

    @model_validator(mode="after")
    def _one_noise_source(self) -> DPConfig:
        both = self.noise_multiplier is not None and self.target_epsilon is not None
        neither = self.noise_multiplier is None and self.target_epsilon is None
        if both or (self.enabled and neither):
            what = "both are set" if both else "neither is set"
            raise ValueError(
                f"give exactly one of dp.noise_multiplier or dp.target_epsilon ({what}): "
                "a fixed noise, or a target ε the site calibrates its noise to"
            )
        return self


class SiteDPConfig(StrictModel):
    """Site-level DP-FedAvg (per institution): client-side clipping, server-side noise."""

    enabled: bool = False
    noise_multiplier: float | None = Field(
        None, description="Server noise std / clipping_norm (noise on the sum of updates)"
    )
    clipping_norm: float | None = Field(
        None, description="L2 bound each site clips its whole update to"
    )
    target_delta: float | None = Field(
        None, description="δ per site; None = 1/(10 N) for N sites in the federation"
    )
    accountant: Accountant = "prv"

    @field_validator("noise_multiplier", mode="before")
    @classmethod
    def _noise(cls, v: Any) -> Any:
        return _positive(v, key="site_dp.noise_multiplier", fix="e.g. 1.0 (0 would add no noise)")

    @field_validator("clipping_norm", mode="before")
    @classmethod
    def _clip(cls, v: Any) -> Any:
        return _positive(v, key="site_dp.clipping_norm", fix="e.g. the typical update norm")

    @field_validator("target_delta", mode="before")
    @classmethod
    def _delta(cls, v: Any) -> Any:
        return _positive(
            v,
            key="site_dp.target_delta",
            below_one=True,
            fix="leave it unset for 1/(10 N), or give a value below 1/N",
        )

    @model_validator(mode="after")
    def _complete(self) -> SiteDPConfig:
        if self.enabled:
            missing = [k for k in ("noise_multiplier", "clipping_norm") if getattr(self, k) is None]
            if missing:
                keys = " and ".join(f"site_dp.{k}" for k in missing)
                raise ValueError(f"site_dp.enabled is true but {keys} is not set; give a value")
        return self


def dp_cross_errors(
    dp: DPConfig,
    site_dp: SiteDPConfig,
    *,
    strategy_name: str,
    proximal_mu: float,
    rounds: int | None,
    num_clients: int,
) -> list[str]:
    """Problems that involve other sections; each names its key path and the fix."""
    errors: list[str] = []
    if dp.enabled and strategy_name == "fedprox" and proximal_mu > 0:
        # Opacus builds each update from per-example gradients captured by module hooks; the
        # proximal term's gradient does not pass through them and would be dropped silently.
        errors.append(
            f"strategy.proximal_mu: {proximal_mu:g} has no effect under dp.enabled (DP-SGD "
            "updates from per-example clipped gradients; FedProx's term is not per example); "
            "set it to 0 or use strategy.name fedavg"
        )
    if dp.enabled and dp.target_epsilon is not None and (rounds is None or rounds < 1):
        errors.append(
            "dp.target_epsilon: calibrating noise needs the planned number of rounds; set "
            "federation.rounds"
        )
    if site_dp.enabled and strategy_name == "fedadam":
        # Flower's wrapper noises the strategy's output. FedAdam's adaptive step divides the
        # mean update by a running RMS, so one site can move its output by more than
        # clipping_norm / m and the noise would not cover it.
        errors.append(
            "strategy.name: fedadam is not covered by site_dp (the server noise is calibrated "
            "to a plain mean of clipped updates; FedAdam rescales it adaptively); use fedavg "
            "or fedprox, or turn site_dp off"
        )
    if site_dp.enabled:
        delta = site_dp.target_delta
        if delta is not None and delta >= 1.0 / num_clients:
            errors.append(
                f"site_dp.target_delta: {delta:g} is not below 1/{num_clients} (one over "
                "federation.num_clients); lower it or leave it unset"
            )
    return errors
