"""What the classification head reads: the model's own pooled output, or the mean of its tokens.

BERT's sequence-classification head reads the pooler: a dense + tanh layer on the [CLS] token.
Sentence-transformers bases such as all-MiniLM-L6-v2 were trained on something else: the mean
of the token states over the attention mask, L2-normalised (their modules.json lists
Transformer -> Pooling(mean) -> Normalize). A head on that embedding starts from what the
model learned: a linear probe on the default task reaches 90.7 % on mean-pooled embeddings vs
88.3 % on the pooler output. Under DP-SGD it matters more: the normalised embedding has norm 1,
so one record's head gradient is bounded (≤ 2 for cross-entropy) whatever the base, and a head
clipping budget means the same thing on every model.

Mean pooling swaps the BERT pooler for `MeanPooler` (no parameters) and keeps the attention mask
for it with a forward pre-hook on the encoder. Nothing is added to the adapter's weights, so the
export stays a plain peft adapter; a plain user repeats the swap before
`PeftModel.from_pretrained` (docs/privacy-guarantees.md, "Loading the export", gives the lines;
a test runs them). `save_adapter` records the pooling in `fedft_head.json` next to the adapter.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

import torch

log = logging.getLogger(__name__)

__all__ = [
    "HEAD_INFO",
    "MeanPooler",
    "Pooling",
    "model_pooling",
    "read_pooling",
    "resolve_pooling",
    "use_mean_pooling",
    "write_pooling",
]

Pooling = Literal["cls", "mean"]
# Written next to an exported adapter: how its head reads the encoder (no weights, one key).
HEAD_INFO = "fedft_head.json"


def resolve_pooling(pooling: Literal["auto", "cls", "mean"], *, model_path: str | Path) -> Pooling:
    """`auto`: the pooling the base was trained with when it says so (a sentence-transformers
    folder whose Pooling module averages tokens), else the model's own head input (`cls`)."""
    if pooling != "auto":
        return pooling
    folder = Path(model_path)
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "cls"
    for module in modules:
        if str(module.get("type", "")).endswith("models.Pooling"):
            try:
                config = json.loads(
                    (folder / module.get("path", "") / "config.json").read_text(encoding="utf-8")
                )
            except (OSError, ValueError):
                return "cls"
            return "mean" if config.get("pooling_mode_mean_tokens") else "cls"
    return "cls"


class MeanPooler(torch.nn.Module):
    """Stands in for BERT's pooler: masked mean of the token states, L2-normalised.

    `mask` is the batch's attention mask, set by the encoder's pre-hook just before each forward
    (the pooler itself is called with the hidden states only).
    """

    def __init__(self) -> None:
        super().__init__()
        self.mask: torch.Tensor | None = None

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        mask = self.mask
        if mask is None:
            mask = torch.ones(hidden_states.shape[:2], device=hidden_states.device)
        weights = mask.to(hidden_states.dtype).unsqueeze(-1)
        mean = (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return torch.nn.functional.normalize(mean, dim=-1)


def _keep_mask(encoder: torch.nn.Module, args: tuple, kwargs: dict) -> None:
    mask = kwargs.get("attention_mask")
    if mask is None and len(args) > 1:
        mask = args[1]
    encoder.pooler.mask = mask


def use_mean_pooling(model: Any) -> Any:
    """Make a BERT-like sequence classifier read mean-pooled embeddings (in place; returned).

    Call it on the base model, before LoRA or `PeftModel.from_pretrained`.
    """
    encoder = getattr(model, getattr(model, "base_model_prefix", ""), None)
    if encoder is None or not hasattr(encoder, "pooler"):
        raise ValueError(
            f"model.pooling 'mean' needs an encoder with a pooler (BERT-like); "
            f"{type(model).__name__} has none. Use model.pooling 'cls' (the model's own head)"
        )
    encoder.pooler = MeanPooler()
    encoder.register_forward_pre_hook(_keep_mask, with_kwargs=True)
    return model


def model_pooling(model: torch.nn.Module) -> Pooling:
    """The pooling a (peft-wrapped or plain) model uses."""
    return "mean" if any(isinstance(m, MeanPooler) for m in model.modules()) else "cls"


def write_pooling(out_dir: str | Path, pooling: Pooling) -> None:
    (Path(out_dir) / HEAD_INFO).write_text(
        json.dumps({"pooling": pooling}, indent=2) + "\n", encoding="utf-8"
    )


def read_pooling(adapter_dir: str | Path) -> Pooling:
    """The pooling recorded with an adapter; `cls` for adapters exported before it was recorded."""
    path = Path(adapter_dir) / HEAD_INFO
    if not path.is_file():
        return "cls"
    pooling = json.loads(path.read_text(encoding="utf-8")).get("pooling", "cls")
    if pooling not in ("cls", "mean"):
        raise ValueError(f"{path}: pooling {pooling!r} is not one of 'cls', 'mean'")
    return pooling
