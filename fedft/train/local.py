"""One round of local training at a site: a plain PyTorch loop, read top to bottom.

Nothing here is specific to differential privacy. DP wraps the pieces instead: build the
optimizer with `make_optimizer`, hand model, optimizer and loader to Opacus, and pass the
wrapped ones back in (`optimizer=`). The loop only calls `zero_grad`, `backward` and `step`,
which is all a DP optimizer needs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    loss: float  # mean task loss over the examples trained on (without the proximal term)
    steps: int  # optimizer steps taken
    examples: int  # examples seen, counting repeats across epochs


def make_optimizer(
    model: torch.nn.Module,
    *,
    learning_rate: float,
    weight_decay: float,
    kind: Literal["adamw", "sgd"] = "adamw",
    momentum: float = 0.0,
) -> torch.optim.Optimizer:
    """AdamW or SGD (with `momentum`) over the trainable parameters only (LoRA and head; the
    frozen base is skipped). Under DP-SGD prefer SGD: Adam divides each coordinate by its own
    running RMS, so a coordinate that only ever sees noise still moves by about the learning
    rate every step."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters; attach LoRA before training")
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay)
    if kind == "sgd":
        return torch.optim.SGD(
            params, lr=learning_rate, momentum=momentum, weight_decay=weight_decay
        )
    raise ValueError(f"training.optimizer '{kind}' is not one of 'adamw', 'sgd'")


def _batch_size(batch: Mapping[str, Any]) -> int:
    for value in batch.values():
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return int(value.shape[0])
    return 0


def _proximal_anchors(
    model: torch.nn.Module, global_state: Mapping[str, np.ndarray], device: torch.device | str
) -> list[tuple[torch.nn.Parameter, torch.Tensor]]:
    """(parameter, its global value) pairs for the FedProx term, matched by name."""
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    missing = sorted(set(params) - set(global_state))
    if missing:
        raise ValueError(
            f"global_state lacks {len(missing)} trainable tensors (e.g. '{missing[0]}'); pass "
            "the state the round started from, as returned by trainable_state(model)"
        )
    return [
        (p, torch.as_tensor(np.asarray(global_state[name]), dtype=p.dtype, device=device))
        for name, p in params.items()
    ]


def _planned_steps(loader: Iterable, *, epochs: int, max_steps: int | None) -> int:
    """Steps the loop expects to take, for progress only; 0 when the loader has no length."""
    try:
        per_epoch = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return max_steps or 0
    planned = per_epoch * epochs
    return min(planned, max_steps) if max_steps is not None else planned


def train_local(
    model: torch.nn.Module,
    loader: Iterable[Mapping[str, Any]],
    *,
    epochs: int,
    max_steps: int | None,
    learning_rate: float,
    weight_decay: float,
    proximal_mu: float = 0.0,
    global_state: Mapping[str, np.ndarray] | None = None,
    max_grad_norm: float | None,
    device: torch.device | str,
    on_step: Callable[[int, int, float], None] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> TrainResult:
    """Train the trainable parameters of `model` in place on `loader`'s batches.

    Batches are dicts of tensors with `labels` (class ids, or token ids with -100 on prompt
    and padding for causal LMs); the model computes its own loss. Stops after `epochs` passes
    or `max_steps` optimizer steps, whichever comes first. Empty batches (Poisson sampling can
    draw them) are skipped.

    `proximal_mu` > 0 adds FedProx's mu/2·||w − w_global||² over the trainable parameters,
    with w_global from `global_state` (names as in `trainable_state`). `max_grad_norm` clips
    the batch gradient (None: no clipping). `on_step(step, planned_steps, loss)` reports
    progress; planned_steps is 0 when unknown. `optimizer`: a pre-built one (e.g. Opacus'
    DPOptimizer around `make_optimizer(...)`); when given, `learning_rate` and `weight_decay`
    are the ones it was built with and are not read again.
    """
    if epochs < 1:
        raise ValueError(f"epochs is {epochs}; train at least 1 epoch")
    if max_steps is not None and max_steps < 1:
        raise ValueError(
            f"max_steps is {max_steps}; give a positive number or None for full epochs"
        )
    if proximal_mu < 0:
        raise ValueError(f"proximal_mu is {proximal_mu}; it must be >= 0 (0 disables FedProx)")
    anchors: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
    if proximal_mu > 0:
        if global_state is None:
            raise ValueError(
                "proximal_mu > 0 needs global_state (the adapter the round started from)"
            )
        anchors = _proximal_anchors(model, global_state, device)

    if optimizer is None:
        # Re-created every round: Adam moments from an earlier round's global model would
        # point in stale directions.
        optimizer = make_optimizer(model, learning_rate=learning_rate, weight_decay=weight_decay)
    trainable = [p for p in model.parameters() if p.requires_grad]
    planned = _planned_steps(loader, epochs=epochs, max_steps=max_steps)

    model.train()
    steps, examples, loss_sum = 0, 0, 0.0
    for _epoch in range(epochs):
        for batch in loader:
            n = _batch_size(batch)
            if n == 0:
                continue
            inputs = {
                k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()
            }
            out = model(**inputs)
            loss = out.loss
            if loss is None:
                raise ValueError("the model returned no loss; batches must carry 'labels'")
            # .item() syncs with the device each step; the finiteness check needs it anyway.
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"training loss is {value} at step {steps + 1}; lower training.learning_rate, "
                    "set training.max_grad_norm, or check that labels are not all -100"
                )
            if anchors:
                prox = sum(((p - g) ** 2).sum() for p, g in anchors)
                loss = loss + 0.5 * proximal_mu * prox

            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(trainable, max_grad_norm)
            optimizer.step()

            steps += 1
            examples += n
            loss_sum += value * n  # the batch mean, weighted: Poisson batches vary in size
            if on_step is not None:
                on_step(steps, planned, value)
            if max_steps is not None and steps >= max_steps:
                break
        if max_steps is not None and steps >= max_steps:
            break

    if steps == 0:
        log.warning("no training step taken: the loader yielded no non-empty batch")
    mean_loss = loss_sum / examples if examples else float("nan")
    log.debug("local training: %d steps, %d examples, mean loss %.4f", steps, examples, mean_loss)
    return TrainResult(loss=mean_loss, steps=steps, examples=examples)
