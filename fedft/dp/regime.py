"""Can this DP-SGD plan learn? The numbers a consortium reads before it trains.

Per step, DP-SGD moves the trainable tensors by the average of the clipped per-example
gradients (L2 norm at most the clip bound, sqrt(Σ C_g²)) plus Gaussian noise whose std per
coordinate is σ·C/E[B] (flat) or σ·C_g/(√s_g·E[B]) (per group with budget shares s_g, √G·σ·C_g/E[B]
for equal shares; `fedft.dp.clipping`). Over d
coordinates the noise has norm ≈ std·√d. When that norm dwarfs the clip bound, each step is
mostly noise; fedft's default regime before the DP recipe (expected batch 8, σ ≈ 0.5, 38,789
coordinates, C = 1) had a noise norm of ~12.7 against a bound of 1 and learned nothing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from fedft.dp.clipping import head_or_lora
from fedft.dp.plan import DPPlan

__all__ = ["Regime", "assess", "clipped_fractions", "trainable_dims"]

# Below this expected batch the noise per example (σC/B) is large for any σ a useful ε allows.
MIN_EXPECTED_BATCH = 64
# Noise norm per step beyond this multiple of the clip bound: each step is mostly noise.
NOISE_TO_CLIP_WARNING = 2.0


def trainable_dims(model: torch.nn.Module) -> dict[str, int]:
    """Trainable coordinates per clipping group: {'lora': d, 'head': d} (names as in plans)."""
    named = [(n, p.numel()) for n, p in model.named_parameters() if p.requires_grad]
    groups = head_or_lora([n for n, _ in named])
    dims = {"lora": 0, "head": 0}
    for (_, size), g in zip(named, groups, strict=True):
        dims["head" if g == 1 else "lora"] += size
    return dims


def _noise_std(plan: DPPlan) -> dict[str, float]:
    """Noise std per coordinate of the averaged gradient, per clipping group."""
    scales = plan.noise_scales()
    return {
        g: plan.noise_multiplier * scales[g] * c / plan.expected_batch
        for g, c in plan.group_bounds().items()
    }


@dataclass(frozen=True)
class Regime:
    """One site's DP-SGD regime. Norms are of the averaged per-step gradient."""

    site: str
    plan: DPPlan
    noise_std: dict[str, float]  # σ·C/E[B] per coordinate, per clipping group
    noise_norm: float  # expected L2 norm of one step's noise over all trainable coordinates
    clip_bound: float  # largest L2 norm the averaged clipped signal can have
    clipped: dict[str, float] | None = None  # share of a first batch's examples clipped
    warnings: list[str] = field(default_factory=list)

    def _shares(self) -> str:
        if self.plan.head_max_grad_norm is None:
            return ""
        head = 0.5 if self.plan.head_budget_share is None else self.plan.head_budget_share
        return f" (noise budget: head {100 * head:.0f} %, lora {100 * (1 - head):.0f} %)"

    def lines(self) -> list[str]:
        """What `fedft dp plan` prints for this site (warnings last, prefixed WARNING)."""
        p = self.plan
        std = ", ".join(f"{g} {v:.3g}" for g, v in self.noise_std.items())
        bounds = ", ".join(f"{g} {c:g}" for g, c in p.group_bounds().items())
        out = [
            f"{self.site}: {p.n_records} records, σ {p.noise_multiplier:.3f}, expected batch "
            f"{p.expected_batch:.1f} (q {p.sample_rate:.3g}), {p.steps} steps/round × "
            f"{p.rounds} rounds, δ {p.delta:.2g}",
            f"  clip {bounds}{self._shares()}; σC/E[B] per coordinate: {std}",
            f"  noise norm per step {self.noise_norm:.3g} vs clip bound {self.clip_bound:.3g} "
            f"(ratio {self.noise_norm / self.clip_bound:.2g})",
        ]
        if self.clipped is not None:
            shares = ", ".join(f"{g} {100 * v:.0f}%" for g, v in self.clipped.items())
            out.append(f"  examples clipped on a first batch: {shares}")
        out += [f"  WARNING: {w}" for w in self.warnings]
        return out


def assess(
    plan: DPPlan,
    *,
    dims: Mapping[str, int],
    site: str,
    clipped: Mapping[str, float] | None = None,
) -> Regime:
    """The regime of `plan` over a model with `dims` trainable coordinates per group."""
    std = _noise_std(plan)
    if plan.head_max_grad_norm is None:
        per_group = {"all": sum(dims.values())}
    else:
        per_group = {"lora": dims.get("lora", 0), "head": dims.get("head", 0)}
    noise_norm = math.sqrt(sum(per_group[g] * s * s for g, s in std.items()))
    bounds = plan.group_bounds()
    clip_bound = math.sqrt(sum(c * c for c in bounds.values()))
    warnings = []
    if plan.expected_batch < MIN_EXPECTED_BATCH:
        warnings.append(
            f"expected batch {plan.expected_batch:.1f} < {MIN_EXPECTED_BATCH}: the noise per "
            "example is large; raise dp.expected_batch_size (up to the site's record count)"
        )
    ratio = noise_norm / clip_bound
    if ratio > NOISE_TO_CLIP_WARNING:
        warnings.append(
            f"each step's noise (norm {noise_norm:.3g}) is {ratio:.0f}x the largest signal "
            f"(clip bound {clip_bound:.3g}): this regime cannot learn; use larger batches, "
            "fewer trainable coordinates (lora.r) or dp.clipping per_group"
        )
    share = (clipped or {}).get("all", 0.0)
    if share >= 0.99:
        warnings.append(
            f"{100 * share:.0f}% of the first batch is clipped with one flat norm: the "
            "largest gradients (usually the new head) take the whole budget; consider "
            "dp.clipping per_group"
        )
    return Regime(
        site=site,
        plan=plan,
        noise_std=std,
        noise_norm=noise_norm,
        clip_bound=clip_bound,
        clipped=dict(clipped) if clipped is not None else None,
        warnings=warnings,
    )


def clipped_fractions(
    model: torch.nn.Module, batch: Mapping[str, Any], *, bounds: Mapping[str, float]
) -> dict[str, float]:
    """Share of `batch`'s examples whose gradient norm exceeds its bound, per group.

    Per-example gradients from Opacus's hooks (one forward/backward; no step, no noise, the
    model is left as it was). `bounds`: a plan's `group_bounds()` ('all', or 'lora' and 'head').
    """
    from torch.utils.data import DataLoader

    from fedft.dp.sgd import make_private
    from fedft.train.local import make_optimizer

    n = int(batch["labels"].shape[0])
    if n == 0:
        return dict.fromkeys(bounds, 0.0)
    was_training = model.training
    optimizer = make_optimizer(model, learning_rate=1.0, weight_decay=0.0, kind="sgd")
    # The loader is only read for its dataset and batch size; nothing is sampled from it.
    private = make_private(
        model,
        optimizer,
        DataLoader([(torch.zeros(1),)], batch_size=1),
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        accountant="rdp",
        seed=0,
    )
    try:
        model.train()
        private.optimizer.zero_grad(set_to_none=True)
        inputs = {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}
        with warnings.catch_warnings():
            # The frozen base gives the first LoRA layer no input that needs a gradient;
            # torch warns about Opacus's backward hooks there, harmlessly (as in fedft.dp.sgd).
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            model(**inputs).loss.backward()
        names = {id(p): name for name, p in model.named_parameters()}
        groups = head_or_lora([names[id(p)] for p in private.optimizer.params])
        squared = {"lora": torch.zeros(n), "head": torch.zeros(n)}
        for p, g in zip(private.optimizer.params, groups, strict=True):
            squared["head" if g == 1 else "lora"] += p.grad_sample.reshape(n, -1).pow(2).sum(1)
    finally:
        private.close()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    norms = {
        "all": (squared["lora"] + squared["head"]).sqrt(),
        "lora": squared["lora"].sqrt(),
        "head": squared["head"].sqrt(),
    }
    return {g: float((norms[g] > bound).float().mean()) for g, bound in bounds.items()}


def summary_lines(regimes: Sequence[Regime]) -> list[str]:
    """Every site's lines, then one verdict line."""
    lines = [line for r in regimes for line in r.lines()]
    bad = [r.site for r in regimes if r.warnings]
    lines.append(
        f"{len(bad)} of {len(regimes)} sites in a regime with warnings: {', '.join(bad)}"
        if bad
        else f"all {len(regimes)} sites: noise per step within "
        f"{NOISE_TO_CLIP_WARNING:g}x the clip bound"
    )
    return lines
