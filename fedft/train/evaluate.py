"""Held-out evaluation: loss and accuracy (classification) or perplexity (instruction)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as F

from fedft.train.generation_metrics import GenerationBudget, generation_metrics

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label of prompt and padding tokens, as in Hugging Face models


def _sums(logits: torch.Tensor, labels: torch.Tensor, *, task: str) -> tuple[float, int, int]:
    """(summed loss, counted items, correct items) for one batch."""
    if task == "classification":
        loss = F.cross_entropy(logits.float(), labels, reduction="sum")
        correct = int((logits.argmax(dim=-1) == labels).sum())
        return float(loss), int(labels.numel()), correct
    # Causal LM: token t predicts token t+1; only response tokens (label != -100) count.
    shifted_logits = logits[:, :-1, :].float()
    shifted_labels = labels[:, 1:]
    loss = F.cross_entropy(
        shifted_logits.reshape(-1, shifted_logits.shape[-1]),
        shifted_labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return float(loss), int((shifted_labels != IGNORE_INDEX).sum()), 0


def evaluate(
    model: torch.nn.Module,
    loader: Iterable[Mapping[str, Any]],
    *,
    task: Literal["classification", "instruction"],
    device: torch.device | str,
    generation: GenerationBudget | None = None,
) -> dict[str, float]:
    """Metrics over the whole loader.

    classification: {"loss": mean cross-entropy per example (nats), "accuracy": in [0, 1]}.
    instruction: {"loss": mean cross-entropy per response token (nats), "perplexity": exp(loss)}
    — weighted by tokens, not batches, so padding and batch sizes do not skew it; with a
    `generation` budget also "rouge_l", "exact_match" (fedft.train.generation_metrics).
    """
    if task not in ("classification", "instruction"):
        raise ValueError(f"task '{task}' is not one of 'classification', 'instruction'")
    model.eval()
    loss_sum, count, correct = 0.0, 0, 0
    with torch.inference_mode():
        for batch in loader:
            labels = batch["labels"].to(device)
            if labels.numel() == 0:
                continue
            inputs = {
                k: v.to(device)
                for k, v in batch.items()
                if k != "labels" and isinstance(v, torch.Tensor)
            }
            logits = model(**inputs).logits
            batch_loss, batch_count, batch_correct = _sums(logits, labels, task=task)
            loss_sum += batch_loss
            count += batch_count
            correct += batch_correct
    if count == 0:
        raise ValueError(
            "evaluation set has no labelled examples (or, for instruction data, no response "
            "tokens after truncation); check data.eval and data.max_length"
        )
    loss = loss_sum / count
    if task == "classification":
        return {"loss": loss, "accuracy": correct / count}
    # Capped so a diverged model reports a huge number instead of an OverflowError.
    result = {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}
    if generation is not None:
        result.update(generation_metrics(model, loader, budget=generation, device=device))
    return result
