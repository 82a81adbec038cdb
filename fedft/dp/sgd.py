"""Sample-level DP-SGD at a site: Opacus over the trainable LoRA tensors (and the head).

Per round a site calls `train_round_private`. It builds a fresh Opacus set-up around the
site's cached model (hooks, not a wrapper, so parameter names and the model object stay as
they are), runs the ordinary `fedft.train.local.train_local` loop with the DP optimizer, and
detaches everything afterwards. Privacy is accounted over the site's whole history, kept by
`fedft.dp.budget.SiteBudget` on the site's disk.

Choices that matter for the guarantee (docs/privacy-guarantees.md):

- Poisson sampling: each record joins each batch independently with probability q = 1 / ⌈n/B⌉
  (Opacus's rate), so batches vary in size and may be empty. An empty batch is still one step
  of the sampled Gaussian mechanism: the optimizer takes a noise-only step and the accountant
  counts it. Skipping it would make the number of noisy steps depend on the data.
- Exactly `plan.steps` noisy steps per round, empty ones included, so spend = plan.
- Sampling and noise randomness come from the OS (secrets), never from the run seed the
  server knows: a server that could replay the noise could subtract it.
- For causal LMs the loss is averaged per example first (HF averages over all tokens of the
  batch, which would make one example's clipped gradient depend on the other examples' lengths).
"""

from __future__ import annotations

import logging
import math
import secrets
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

import torch
from opacus import PrivacyEngine
from opacus.optimizers import DPOptimizer
from torch.utils.data import DataLoader

from fedft.config.dp import Accountant
from fedft.dp.accounting import Step, epsilon_spent
from fedft.dp.batches import StepBudgetedBatches
from fedft.dp.budget import SiteBudget
from fedft.dp.clipping import GroupClippingDPOptimizer, head_or_lora
from fedft.dp.plan import DPPlan, RoundAccount
from fedft.train.local import TrainResult, make_optimizer, train_local

log = logging.getLogger(__name__)

__all__ = ["PrivateRound", "PrivateTraining", "make_private", "train_round_private"]

IGNORE_INDEX = -100


@dataclass(frozen=True)
class PrivateTraining:
    """Opacus set-up for one round. Pass model, optimizer and loader to `train_local`
    (with max_grad_norm=None), then call `close()`.

    `model` is the caller's own module (hooks attached, names unchanged): state functions work
    on it as before. `loader` yields Poisson batches and turns empty ones into noise-only steps.
    """

    model: torch.nn.Module
    optimizer: DPOptimizer
    loader: StepBudgetedBatches
    sample_rate: float
    engine: PrivacyEngine
    hooks: Any  # opacus GradSampleHooks

    def history(self) -> list[Step]:
        """Steps so far as (noise_multiplier, sample_rate, steps), from Opacus's accountant."""
        return [(float(s), float(q), int(n)) for s, q, n in self.engine.accountant.history]

    def close(self) -> None:
        """Detach Opacus from the model so the same object can train again (or without DP)."""
        self.optimizer.zero_grad(set_to_none=True)
        self.hooks.cleanup()
        for p in self.model.parameters():
            for attr in ("grad_sample", "summed_grad", "_forward_counter"):
                if hasattr(p, attr):
                    delattr(p, attr)


def _secure_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    # seed is for tests only: DP needs noise and sampling the server cannot predict.
    return torch.Generator(device=device).manual_seed(
        secrets.randbits(63) if seed is None else seed
    )


def _param_device(optimizer: torch.optim.Optimizer) -> torch.device:
    """Device of the optimizer's parameters (where Opacus adds the noise)."""
    return next(p.device for g in optimizer.param_groups for p in g["params"])


def make_private(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    *,
    noise_multiplier: float,
    max_grad_norm: float,
    poisson: bool = True,
    steps: int | None = None,
    accountant: Accountant = "prv",
    seed: int | None = None,
    head_max_grad_norm: float | None = None,
    head_budget_share: float | None = None,
    physical_batch_size: int | None = None,
) -> PrivateTraining:
    """Opacus DP-SGD (hooks mode) over `optimizer`'s parameters, which must all be trainable.

    `loader`: an ordinary DataLoader (its dataset, batch_size and collate_fn are reused; its
    generator is not). `steps`: DP steps to allow (default one pass, ⌈n/B⌉). `poisson=False`
    keeps the loader's own batches: Opacus still accounts as if Poisson, which is not a valid
    guarantee — for benchmarks only. `seed`: tests only; None draws noise and sampling from
    the OS. `head_max_grad_norm`: clip the classification head to it and the other tensors
    to `max_grad_norm`, each group noised to its own bound (`fedft.dp.clipping`); None: one
    flat norm. `head_budget_share`: the head's share of the noise budget (None: an equal
    split). `physical_batch_size`: examples per forward/backward pass (None: the whole
    Poisson batch at once). Call `close()` on the result when the round is done.
    """
    if not (math.isfinite(noise_multiplier) and noise_multiplier > 0):
        raise ValueError(f"noise_multiplier is {noise_multiplier!r}; it must be > 0")
    if not (math.isfinite(max_grad_norm) and max_grad_norm > 0):
        raise ValueError(f"max_grad_norm is {max_grad_norm!r}; it must be > 0")
    if steps is not None and steps < 1:
        raise ValueError(f"steps is {steps}; allow at least one DP step")
    frozen = [p for group in optimizer.param_groups for p in group["params"] if not p.requires_grad]
    if frozen:
        raise ValueError(
            f"the optimizer holds {len(frozen)} frozen parameters; build it over the trainable "
            "ones only (fedft.train.local.make_optimizer)"
        )
    if not poisson:
        log.warning("DP without Poisson sampling: the reported ε is not a valid guarantee")
    # Opacus's hooks see no activations from an eval-mode model ("No activations detected").
    model.train()
    source = DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        collate_fn=loader.collate_fn,
        shuffle=not poisson,
        generator=_secure_generator(seed),
    )
    with warnings.catch_warnings():
        # "Secure RNG turned off": Opacus's secure mode needs torchcsprng (not available for
        # this torch); fedft seeds noise and sampling from the OS CSPRNG instead (see above).
        warnings.filterwarnings("ignore", message="Secure RNG turned off")
        engine = PrivacyEngine(accountant=accountant)
    hooks, dp_optimizer, dp_loader = engine.make_private(
        module=model,
        optimizer=optimizer,
        data_loader=source,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        poisson_sampling=poisson,
        grad_sample_mode="hooks",
        wrap_model=False,
        # Opacus draws the noise on the parameters' device, with this generator.
        noise_generator=_secure_generator(
            None if seed is None else seed + 1, device=_param_device(optimizer)
        ),
    )
    if head_max_grad_norm is not None:
        dp_optimizer = _group_clipping(
            model,
            dp_optimizer,
            max_grad_norm=max_grad_norm,
            head_max_grad_norm=head_max_grad_norm,
            head_budget_share=head_budget_share,
        )
    elif head_budget_share is not None:
        raise ValueError("head_budget_share needs per-group clipping (head_max_grad_norm)")
    # Opacus builds "empty batch" templates from dataset[0]; for datasets of dicts (ours) they
    # are wrong and an empty *first* Poisson batch crashes in torch.zeros. Without templates
    # it yields [], which _is_empty turns into an accounted noise-only step.
    collate = getattr(dp_loader, "collate_fn", None)
    if hasattr(collate, "sample_empty_shapes"):
        collate.sample_empty_shapes = None
        collate.dtypes = None
    sample_rate = 1.0 / len(dp_loader)  # what Opacus's accountant hook uses
    planned = len(dp_loader) if steps is None else steps
    return PrivateTraining(
        model=model,
        optimizer=dp_optimizer,
        loader=StepBudgetedBatches(dp_loader, dp_optimizer, planned, physical_batch_size),
        sample_rate=sample_rate,
        engine=engine,
        hooks=hooks,
    )


def _group_clipping(
    model: torch.nn.Module,
    flat: DPOptimizer,
    *,
    max_grad_norm: float,
    head_max_grad_norm: float,
    head_budget_share: float | None,
) -> GroupClippingDPOptimizer:
    """The same optimizer, noise source and accounting hook, clipped per group (head, LoRA)."""
    names = {id(p): name for name, p in model.named_parameters()}
    groups = head_or_lora([names[id(p)] for p in flat.params])
    if set(groups) != {0, 1}:
        raise ValueError(
            "dp.clipping per_group needs a trainable classification head and LoRA tensors; "
            f"this model has {'only a head' if 0 not in groups else 'no trainable head'} "
            "(use dp.clipping: flat)"
        )
    grouped = GroupClippingDPOptimizer(
        flat.original_optimizer,
        noise_multiplier=flat.noise_multiplier,
        max_grad_norms=[max_grad_norm, head_max_grad_norm],
        budget_shares=None
        if head_budget_share is None
        else [1.0 - head_budget_share, head_budget_share],
        groups=groups,
        expected_batch_size=flat.expected_batch_size,
        generator=flat.generator,
    )
    grouped.attach_step_hook(flat.step_hook)
    return grouped


class _PerExampleLoss(torch.nn.Module):
    """Causal-LM loss averaged within each example, then over examples.

    HF divides by all target tokens of the batch, so an example's per-example gradient would
    scale with the other examples' lengths and per-example clipping would no longer bound
    what one example contributes. Classification batches (1-D labels) keep the model's loss.
    """

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, **inputs: Any) -> Any:
        labels = inputs.get("labels")
        if labels is None or labels.dim() < 2:
            return self.inner(**inputs)
        out = self.inner(**{k: v for k, v in inputs.items() if k != "labels"})
        logits = out.logits[:, :-1, :]
        target = labels[:, 1:].to(logits.device)
        per_token = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(),
            target.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="none",
        ).view(target.shape)
        counts = (target != IGNORE_INDEX).sum(dim=1)
        # An example without target tokens contributes 0 (not NaN) and has a zero gradient.
        per_example = per_token.sum(dim=1) / counts.clamp(min=1)
        out.loss = per_example.mean()
        return out


def _train(
    model: torch.nn.Module,
    private: PrivateTraining,
    learning_rate: float,
    weight_decay: float,
    device: torch.device | str,
    on_step: Callable[[int, int, float], None] | None,
) -> TrainResult:
    return train_local(
        _PerExampleLoss(model),
        private.loader,
        epochs=1,
        max_steps=None,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        max_grad_norm=None,  # DP-SGD clips per example; a batch clip would be redundant
        device=device,
        on_step=on_step,
        optimizer=private.optimizer,
    )


class PrivateRound(NamedTuple):
    train: TrainResult
    account: RoundAccount


def train_round_private(
    model: torch.nn.Module,
    dataset: Any,
    *,
    collate_fn: Callable[[list[Any]], Mapping[str, torch.Tensor]],
    plan: DPPlan,
    budget: SiteBudget,
    server_round: int,
    learning_rate: float,
    weight_decay: float,
    device: torch.device | str,
    on_step: Callable[[int, int, float], None] | None = None,
    seed: int | None = None,
    optimizer: Literal["adamw", "sgd"] = "adamw",
    momentum: float = 0.0,
) -> PrivateRound:
    """One round of DP-SGD at a site: budget check, write-ahead record, exactly `plan.steps`
    noisy steps.

    `model`: the site's PeftModel (the same object every round; it is left without Opacus
    hooks). `budget`: the site's `SiteBudget`, loaded at the plan's δ and accountant.
    Raises `BudgetExhausted` (with the reason the server should record) before touching the
    model when the round would take ε above dp.max_epsilon. The round is recorded before
    training, so an interrupted round counts as spent.
    """
    if len(dataset) != plan.n_records:
        raise ValueError(
            f"dataset has {len(dataset)} records, the DP plan was made for {plan.n_records}; "
            "plan again (plan_dp) when the site's data changes"
        )
    kept = (budget.accountant, budget.group_size) == (plan.accountant, plan.group_size)
    if not kept or not math.isclose(budget.delta, plan.delta):
        raise ValueError(
            f"the budget is kept at δ={budget.delta:g} ({budget.accountant}, groups of "
            f"{budget.group_size}), the plan uses δ={plan.delta:g} ({plan.accountant}, groups "
            f"of {plan.group_size}); load the budget with the plan's values"
        )
    mechanism = (plan.noise_multiplier, plan.sample_rate, plan.steps)
    budget.check_round(server_round, *mechanism)
    epsilon_total = budget.record(server_round, *mechanism)

    loader = DataLoader(dataset, batch_size=plan.batch_size, collate_fn=collate_fn)
    # Built each round: see docs/privacy-guarantees.md ("Optimizer state") for why the
    # momentum is not carried from one round to the next.
    base_optimizer = make_optimizer(
        model,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        kind=optimizer,
        momentum=momentum,
    )
    private = make_private(
        model,
        base_optimizer,
        loader,
        noise_multiplier=plan.noise_multiplier,
        max_grad_norm=plan.max_grad_norm,
        steps=plan.steps,
        accountant=plan.accountant,
        seed=seed,
        head_max_grad_norm=plan.head_max_grad_norm,
        head_budget_share=plan.head_budget_share,
        physical_batch_size=plan.physical_batch_size,
    )
    try:
        if not math.isclose(private.sample_rate, plan.sample_rate, rel_tol=1e-12):
            raise RuntimeError(
                f"Opacus samples at {private.sample_rate:g}, the plan at {plan.sample_rate:g}"
            )
        with warnings.catch_warnings():
            # Opacus's backward hooks on the first LoRA layer see no input needing a gradient
            # (the base is frozen); torch warns once per round, harmlessly.
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            result = _train(model, private, learning_rate, weight_decay, device, on_step)
        # Physical pieces are not steps: report the noisy steps taken.
        result = replace(result, steps=private.loader.done)
        spent = private.history()
        empty = private.loader.empty
    finally:
        private.close()
    if spent != [mechanism]:
        # Cannot happen with the step-budgeted loader; if it did, the record over-counts.
        raise RuntimeError(f"DP steps taken {spent} differ from the plan {mechanism}")
    if empty:
        log.info(
            "%d of %d DP steps had an empty Poisson batch (noise-only steps)", empty, plan.steps
        )
    account = RoundAccount(
        noise_multiplier=plan.noise_multiplier,
        sample_rate=plan.sample_rate,
        steps=plan.steps,
        delta=plan.delta,
        max_grad_norm=plan.max_grad_norm,
        accountant=plan.accountant,
        epsilon_round=epsilon_spent(
            history=spent,
            delta=plan.delta,
            accountant=plan.accountant,
            group_size=plan.group_size,
        ),
        epsilon_total=epsilon_total,
        group_size=plan.group_size,
    )
    log.info(
        "DP round %d: ε %.4g this round, %.4g in total (δ %.3g, %s)",
        server_round,
        account.epsilon_round,
        epsilon_total,
        plan.delta,
        plan.accountant,
    )
    return PrivateRound(train=result, account=account)
