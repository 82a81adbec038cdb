"""Held-out evaluation: loss, accuracy, macro-F1 and calibration (classification) or
perplexity (instruction).

`evaluate` returns scalars only (what a site may report); `evaluate_classification` adds the
per-class recall and the confusion matrix, for the server's own held-out set.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import confusion_matrix, f1_score

from fedft.train.generation_metrics import GenerationBudget, generation_metrics

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label of prompt and padding tokens, as in Hugging Face models
ECE_BINS = 15  # the usual equal-width confidence bins (Guo et al., 2017)


@dataclass(frozen=True)
class ClassificationResult:
    """Central-evaluation detail; `confusion[i][j]` counts true class i predicted as j."""

    metrics: dict[str, float]  # as `evaluate` returns them
    recall_per_class: list[float | None]  # None for a class absent from the held-out set
    confusion: list[list[int]]


def expected_calibration_error(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    *,
    bins: int = ECE_BINS,
) -> float:
    """ECE = Σ_b (n_b / n) · |accuracy_b − mean confidence_b| over `bins` equal-width bins of
    the top-class probability, each bin (lo, hi] (the first also holds 0)."""
    conf = np.asarray(confidence, dtype=np.float64)
    hits = np.asarray(correct, dtype=np.float64)
    if conf.size == 0:
        raise ValueError("expected_calibration_error needs at least one prediction")
    # Bin b holds (b/bins, (b+1)/bins]; ceil maps a confidence of exactly 1 to the last bin.
    index = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            ece += members.mean() * abs(hits[members].mean() - conf[members].mean())
    return float(ece)


def _lm_sums(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, int]:
    """(summed loss, response tokens): token t predicts token t+1; label -100 is ignored."""
    shifted_logits = logits[:, :-1, :].float()
    shifted_labels = labels[:, 1:]
    loss = F.cross_entropy(
        shifted_logits.reshape(-1, shifted_logits.shape[-1]),
        shifted_labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return float(loss), int((shifted_labels != IGNORE_INDEX).sum())


def _passes(
    model: torch.nn.Module, loader: Iterable[Mapping[str, Any]], device: torch.device | str
) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """(logits, labels) of every non-empty batch, in inference mode."""
    model.eval()
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
            yield model(**inputs).logits, labels


def _no_examples() -> ValueError:
    return ValueError(
        "evaluation set has no labelled examples (or, for instruction data, no response "
        "tokens after truncation); check data.eval and data.max_length"
    )


def _classify(
    model: torch.nn.Module, loader: Iterable[Mapping[str, Any]], device: torch.device | str
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, int]:
    """(mean loss, true ids, predicted ids, top-class probabilities, number of classes)."""
    loss_sum, truth, predicted, confidence, num_classes = 0.0, [], [], [], 0
    for logits, labels in _passes(model, loader, device):
        logits = logits.float()
        loss_sum += float(F.cross_entropy(logits, labels, reduction="sum"))
        top, ids = logits.softmax(dim=-1).max(dim=-1)
        truth.append(labels.cpu().numpy())
        predicted.append(ids.cpu().numpy())
        confidence.append(top.cpu().numpy())
        num_classes = int(logits.shape[-1])
    if not truth:
        raise _no_examples()
    y, p, c = np.concatenate(truth), np.concatenate(predicted), np.concatenate(confidence)
    return loss_sum / len(y), y, p, c, num_classes


def _scalars(loss: float, y: np.ndarray, p: np.ndarray, c: np.ndarray) -> dict[str, float]:
    # Macro-F1 over the classes present in truth or prediction (sklearn's default); a class
    # with no support and no prediction would otherwise count as F1 = 0.
    return {
        "loss": loss,
        "accuracy": float((y == p).mean()),
        "macro_f1": float(f1_score(y, p, average="macro", zero_division=0)),
        "ece": expected_calibration_error(c, y == p),
    }


def evaluate(
    model: torch.nn.Module,
    loader: Iterable[Mapping[str, Any]],
    *,
    task: Literal["classification", "instruction"],
    device: torch.device | str,
    generation: GenerationBudget | None = None,
) -> dict[str, float]:
    """Metrics over the whole loader.

    classification: {"loss": mean cross-entropy per example (nats), "accuracy", "macro_f1",
    "ece": expected calibration error over ECE_BINS bins}, all in [0, 1] but the loss.
    instruction: {"loss": mean cross-entropy per response token (nats), "perplexity": exp(loss)}
    — weighted by tokens, not batches, so padding and batch sizes do not skew it; with a
    `generation` budget also "rouge_l", "exact_match" (fedft.train.generation_metrics).
    """
    if task not in ("classification", "instruction"):
        raise ValueError(f"task '{task}' is not one of 'classification', 'instruction'")
    if task == "classification":
        loss, y, p, c, _ = _classify(model, loader, device)
        return _scalars(loss, y, p, c)
    loss_sum, count = 0.0, 0
    for logits, labels in _passes(model, loader, device):
        batch_loss, batch_count = _lm_sums(logits, labels)
        loss_sum += batch_loss
        count += batch_count
    if count == 0:
        raise _no_examples()
    loss = loss_sum / count
    # Capped so a diverged model reports a huge number instead of an OverflowError.
    result = {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}
    if generation is not None:
        result.update(generation_metrics(model, loader, budget=generation, device=device))
    return result


def evaluate_classification(
    model: torch.nn.Module, loader: Iterable[Mapping[str, Any]], *, device: torch.device | str
) -> ClassificationResult:
    """`evaluate`'s classification metrics plus per-class recall and the confusion matrix
    (rows: true class, columns: predicted; classes are the model's output ids)."""
    loss, y, p, c, num_classes = _classify(model, loader, device)
    matrix = confusion_matrix(y, p, labels=list(range(num_classes)))
    support = matrix.sum(axis=1)
    recall = [
        float(matrix[i, i] / support[i]) if support[i] else None for i in range(num_classes)
    ]
    return ClassificationResult(
        metrics=_scalars(loss, y, p, c),
        recall_per_class=recall,
        confusion=matrix.astype(int).tolist(),
    )
