"""A site's DP-SGD parameters (`DPPlan`, fixed once per run) and what a round spent
(`RoundAccount`, the scalars a site reports). No Opacus here: the server reads accounts, and
`fedft.dp.sgd` trains with a plan.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from fedft.config.dp import Accountant, DPConfig
from fedft.config.schema import Config
from fedft.dp.accounting import calibrate_noise, default_delta

log = logging.getLogger(__name__)

__all__ = [
    "METRIC_PREFIX",
    "DPPlan",
    "RoundAccount",
    "plan_dp",
    "plan_for_site",
    "poisson_sample_rate",
]

# Site metrics carrying a RoundAccount to the server (declared scalars, no data).
METRIC_PREFIX = "dp_"


def poisson_sample_rate(*, n_records: int, batch_size: int) -> float:
    """q = 1 / ⌈n/B⌉, the rate Opacus samples at for a loader of n records in batches of B."""
    if n_records < 1 or batch_size < 1:
        raise ValueError(f"n_records ({n_records}) and batch_size ({batch_size}) must be >= 1")
    return 1.0 / math.ceil(n_records / batch_size)


@dataclass(frozen=True)
class DPPlan:
    """A site's DP-SGD parameters for every round of a run (fixed once, at the site)."""

    noise_multiplier: float
    sample_rate: float  # Poisson rate per step, in (0, 1]
    steps: int  # noisy steps per round, empty batches included
    delta: float
    max_grad_norm: float
    accountant: Accountant
    batch_size: int  # expected batch size is sample_rate × n_records
    n_records: int
    target_epsilon: float | None  # set when the noise was calibrated to it
    rounds: int  # rounds the calibration planned for
    group_size: int = 1  # ε holds for this many records together (dp.group_size)
    head_max_grad_norm: float | None = None  # per-group clipping: the head's bound
    head_budget_share: float | None = None  # per-group clipping: the head's noise share (0.5)
    physical_batch_size: int | None = None  # examples per forward/backward pass

    @property
    def expected_batch(self) -> float:
        """Expected records per Poisson batch, q·n."""
        return self.sample_rate * self.n_records

    def group_bounds(self) -> dict[str, float]:
        """Clipping bound per group: {'all': C} flat, or {'lora': C, 'head': C_head}."""
        if self.head_max_grad_norm is None:
            return {"all": self.max_grad_norm}
        return {"lora": self.max_grad_norm, "head": self.head_max_grad_norm}

    def noise_scales(self) -> dict[str, float]:
        """Noise std per group in units of σ·C_g: 1 flat, 1/√share per group (`dp.clipping`)."""
        if self.head_max_grad_norm is None:
            return {"all": 1.0}
        share = 0.5 if self.head_budget_share is None else self.head_budget_share
        return {"lora": 1 / math.sqrt(1 - share), "head": 1 / math.sqrt(share)}


def plan_dp(
    dp: DPConfig,
    *,
    n_records: int,
    batch_size: int,
    local_epochs: int,
    max_steps: int | None,
    rounds: int,
) -> DPPlan:
    """Fix noise, rate, steps and δ for a site with `n_records` training records.

    B is dp.expected_batch_size when set, else `batch_size` (the non-DP batch).
    Steps per round: local_epochs passes of ⌈n/B⌉ steps, capped by max_steps (as
    `train_local`). δ: dp.target_delta, or 1/(10 n); it must stay below 1/n. Noise:
    dp.noise_multiplier, or calibrated so that `rounds` full rounds end at dp.target_epsilon.
    Raises ValueError naming the key for an unusable setting, before any training.
    """
    if not dp.enabled:
        raise ValueError("dp.enabled is false; plan_dp is only for DP training")
    if local_epochs < 1 or (max_steps is not None and max_steps < 1) or rounds < 1:
        raise ValueError(
            f"local_epochs ({local_epochs}), max_steps ({max_steps}) and rounds ({rounds}) "
            "must be >= 1"
        )
    if dp.expected_batch_size is not None:
        batch_size = dp.expected_batch_size
    rate = poisson_sample_rate(n_records=n_records, batch_size=batch_size)
    steps = local_epochs * round(1 / rate)
    if max_steps is not None:
        steps = min(steps, max_steps)
    delta = dp.target_delta if dp.target_delta is not None else default_delta(n_records=n_records)
    if delta >= 1.0 / n_records:
        raise ValueError(
            f"dp.target_delta: {delta:g} is not below 1/n = {1.0 / n_records:.3g} for this "
            f"site's {n_records} records (such a δ allows leaking a whole record); lower it "
            "or leave it unset for 1/(10 n)"
        )
    if dp.noise_multiplier is not None:
        noise = dp.noise_multiplier
    else:
        assert dp.target_epsilon is not None  # DPConfig guarantees one of the two
        noise = calibrate_noise(
            target_epsilon=dp.target_epsilon,
            target_delta=delta,
            sample_rate=rate,
            steps=steps * rounds,
            accountant=dp.accountant,
            group_size=dp.group_size,
        )
    plan = DPPlan(
        noise_multiplier=noise,
        sample_rate=rate,
        steps=steps,
        delta=delta,
        max_grad_norm=dp.max_grad_norm,
        accountant=dp.accountant,
        batch_size=batch_size,
        n_records=n_records,
        target_epsilon=dp.target_epsilon,
        rounds=rounds,
        group_size=dp.group_size,
        head_max_grad_norm=dp.head_max_grad_norm if dp.clipping == "per_group" else None,
        head_budget_share=dp.head_budget_share if dp.clipping == "per_group" else None,
        physical_batch_size=dp.physical_batch_size,
    )
    log.info(
        "DP plan: noise %.4g, rate %.4g, %d steps/round, δ %.3g, clip %.3g, %s, groups of %d",
        noise,
        rate,
        steps,
        delta,
        dp.max_grad_norm,
        dp.accountant,
        dp.group_size,
    )
    return plan


def plan_for_site(cfg: Config, *, n_records: int) -> DPPlan:
    """`plan_dp` with a run config's training and federation settings (what a site runs)."""
    t = cfg.training
    return plan_dp(
        cfg.dp,
        n_records=n_records,
        batch_size=t.batch_size,
        local_epochs=t.local_epochs,
        max_steps=t.max_steps,
        rounds=cfg.federation.rounds,
    )


@dataclass(frozen=True)
class RoundAccount:
    """What one round of DP-SGD spent at a site, and the site's total so far."""

    noise_multiplier: float
    sample_rate: float
    steps: int
    delta: float
    max_grad_norm: float
    accountant: Accountant
    epsilon_round: float  # ε of this round alone
    epsilon_total: float  # ε of every round this site trained, this one included
    group_size: int = 1  # the ε are for this many records together

    def as_metrics(self) -> dict[str, float | int | str]:
        """Flat scalars for the site's fit metrics (prefix `dp_`)."""
        return {f"{METRIC_PREFIX}{k}": v for k, v in asdict(self).items()}

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, Any]) -> RoundAccount:
        """Inverse of `as_metrics`; raises ValueError naming a missing metric."""
        missing = [f for f in cls.__dataclass_fields__ if f"{METRIC_PREFIX}{f}" not in metrics]
        if missing:
            raise ValueError(f"site metrics lack {', '.join(METRIC_PREFIX + m for m in missing)}")
        g = {f: metrics[f"{METRIC_PREFIX}{f}"] for f in cls.__dataclass_fields__}
        return cls(
            noise_multiplier=float(g["noise_multiplier"]),
            sample_rate=float(g["sample_rate"]),
            steps=int(g["steps"]),
            delta=float(g["delta"]),
            max_grad_norm=float(g["max_grad_norm"]),
            accountant=str(g["accountant"]),  # type: ignore[arg-type]
            epsilon_round=float(g["epsilon_round"]),
            epsilon_total=float(g["epsilon_total"]),
            group_size=int(g["group_size"]),
        )
