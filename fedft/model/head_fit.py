"""A classification head fitted in closed form from the sites' summed feature statistics.

Round 1 of a run with `model.head_fit: least_squares` trains nothing: each site reads what the
head reads (the pooled embedding z of each of its records, with a 1 appended for the bias) and
uploads two means, mean(z zᵀ) and mean(z yᵀ) with y one-hot. Averaged over the sites by
record count (under SecAgg+ the server sees only that average), they are the statistics of the
pooled data, and the ridge solution W = (mean(z zᵀ) + ρ I)⁻¹ mean(z yᵀ) is the least-squares
head over every site's records at once: one forward pass per record, no backward pass.

Why: the head is what FedAvg is slowest at. Full-batch gradient steps on a linear head over
these embeddings are badly conditioned (their common component): six FedAvg rounds of them
reach 76.7 % on the default task's frozen features, averaging heads fitted at each site 80.2 %
(the sites' label skew), the pooled least-squares head 87.0 % (bench/bench_head_fit_emulation.py,
3 corpus seeds); in real runs on anonymized text, 90.2 % after round 1 (docs/benchmarks.md,
"Head fit"). LoRA rounds then start from a head that already fits (linear probing, then
fine-tuning).

What the server learns: the consortium's mean second moment of the embeddings (385 × 385 for
MiniLM) and the mean embedding per class. That is more numbers than an adapter delta and, like
a delta, it carries no formal guarantee without DP; under DP it is refused (noised statistics
of this size cost more accuracy than they give, see the docs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

__all__ = [
    "HEAD_FIT_TEMPERATURE",
    "head_names",
    "feature_statistics",
    "fitted_head",
    "statistics_shapes",
]

# Least-squares outputs estimate the class probabilities, shrunk by the ridge: as logits they
# make a timid classifier (held-out ECE 0.55 on the default task at scale 1). The fitted head is
# multiplied by this; argmax, hence accuracy, is unchanged. Chosen on training records only:
# leave-one-site-out likelihood on the default task's frozen features, 3 corpus seeds, best at
# 6-8 of 2-20 (bench/bench_head_fit_emulation.py prints the held-out ECE per scale).
HEAD_FIT_TEMPERATURE = 6.0

# peft's trained copy of the head lives under modules_to_save (as in fedft.dp.clipping).
_HEAD_MARKER = "modules_to_save"


def head_names(names: Sequence[str]) -> tuple[str, str]:
    """The (weight, bias) names of the trainable head in a trainable-state listing."""
    weight = [n for n in names if _HEAD_MARKER in n and n.endswith(".weight")]
    bias = [n for n in names if _HEAD_MARKER in n and n.endswith(".bias")]
    if len(weight) != 1 or len(bias) != 1:
        raise ValueError(
            "model.head_fit needs one trainable linear head with a bias (a BERT-like "
            f"classifier); found weights {weight} and biases {bias}"
        )
    return weight[0], bias[0]


def statistics_shapes(*, dim: int, classes: int) -> list[tuple[int, ...]]:
    """Shapes of what a site uploads in the head-fit round: mean(z zᵀ), mean(z yᵀ)."""
    return [(dim + 1, dim + 1), (dim + 1, classes)]


def _head_module(model: torch.nn.Module) -> torch.nn.Module:
    for name, module in model.named_modules():
        if name.endswith(f"{_HEAD_MARKER}.default") and isinstance(module, torch.nn.Linear):
            return module
    raise ValueError("model.head_fit needs a trainable linear head (peft modules_to_save)")


def feature_statistics(
    model: torch.nn.Module, loader: DataLoader, *, scale: float
) -> tuple[list[np.ndarray], int]:
    """([scale · mean(z zᵀ), scale · mean(z yᵀ)], records) over `loader`'s batches.

    z = [h, 1] / √2, h the input of the head in eval mode: the pooled embedding, which must
    have unit norm (mean pooling), so ‖z zᵀ‖ ≤ 1 and both statistics are bounded whatever the
    site holds.
    """
    head = _head_module(model)
    dim, classes = head.in_features, head.out_features
    captured: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda _m, inputs, _out: captured.append(inputs[0].detach()))
    device = next(model.parameters()).device
    zz = torch.zeros((dim + 1, dim + 1), dtype=torch.float64)
    zy = torch.zeros((dim + 1, classes), dtype=torch.float64)
    n = 0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in loader:
                labels = batch.pop("labels")
                captured.clear()
                model(**{k: v.to(device) for k, v in batch.items()})
                h = captured[0].to("cpu", torch.float64)
                largest = float(h.norm(dim=1).max())
                if largest > 1 + 1e-3:
                    # Unbounded features would make the statistics unbounded: SecAgg+ would clip
                    # them, and the fit would be silently wrong.
                    raise ValueError(
                        "model.head_fit needs the head to read unit-norm embeddings "
                        f"(model.pooling: mean); this model's have norm up to {largest:.3g}"
                    )
                z = torch.cat([h, torch.ones((len(h), 1), dtype=torch.float64)], 1) / math.sqrt(2)
                zz += z.T @ z
                zy += z.T @ torch.nn.functional.one_hot(labels, classes).to(torch.float64)
                n += len(h)
    finally:
        hook.remove()
        model.train(was_training)
    if n == 0:
        raise ValueError("model.head_fit: this site has no training records to summarise")
    means = [(scale * m / n).numpy().astype(np.float32) for m in (zz, zy)]
    return means, n


def fitted_head(
    statistics: Sequence[np.ndarray],
    *,
    scale: float,
    ridge: float,
    temperature: float = HEAD_FIT_TEMPERATURE,
) -> tuple[np.ndarray, np.ndarray]:
    """(weight, bias) of the least-squares head from the averaged, scaled statistics, times
    `temperature` (logits = temperature × the least-squares outputs)."""
    zz, zy = (np.asarray(s, dtype=np.float64) / scale for s in statistics)
    solution = np.linalg.solve(zz + ridge * np.eye(len(zz)), zy)  # (dim + 1, classes)
    # Logits z·W with z = [h, 1]/√2: weight Wᵀ[:, :dim]/√2, bias W[dim]/√2.
    weight = temperature * solution[:-1].T / math.sqrt(2)
    bias = temperature * solution[-1] / math.sqrt(2)
    return weight.astype(np.float32), bias.astype(np.float32)
