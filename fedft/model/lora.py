"""LoRA adapters (peft): attach them identically at every party, and name what travels.

Two modes:

- ``standard``: A and B both train. Each site returns its own (Aᵢ, Bᵢ) and FedAvg averages
  them separately, giving mean(B)·mean(A) — which is *not* the mean of the sites' updates
  mean(Bᵢ·Aᵢ). The cross terms make the aggregate inexact (it drifts from what any site learned),
  more so the more sites disagree (non-IID data).
- ``ffa`` (FFA-LoRA, Sun et al. 2024): A is frozen at an initialisation drawn from the shared
  seed, so every party holds the same A; only B (and the classification head) trains and
  travels. Then mean(Bᵢ)·A = mean(Bᵢ·A) exactly: FedAvg of B *is* the average of the updates.
  The aggregate stays linear in what sites send, so it is also exact under secure aggregation
  (a sum) and client-level DP noise, and half the LoRA bytes travel. The cost: the update of
  each layer lies in the fixed row space of A (expressivity of rank r with a random basis);
  a larger r or alpha compensates.

The rest of this package's public API is re-exported here: state math (`state.py`) and
adapter files (`adapter.py`).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

from fedft.model.adapter import load_adapter_for_inference, merge_and_save, save_adapter

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TARGET_MODULES",
    "attach_lora",
    "default_target_modules",
    "load_adapter_for_inference",
    "merge_and_save",
    "save_adapter",
]

# Query and value projections: the original LoRA paper's choice, a good accuracy per byte.
DEFAULT_TARGET_MODULES: dict[str, list[str]] = {
    "bert": ["query", "value"],
    "llama": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"],
    "qwen2": ["q_proj", "v_proj"],
    "qwen3": ["q_proj", "v_proj"],
}

_TASK_TYPES = {"classification": TaskType.SEQ_CLS, "instruction": TaskType.CAUSAL_LM}


def default_target_modules(model_type: str) -> list[str]:
    """Modules LoRA wraps when `lora.target_modules` is not set, by `config.model_type`."""
    if model_type in DEFAULT_TARGET_MODULES:
        return list(DEFAULT_TARGET_MODULES[model_type])
    if model_type in TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING:
        return list(TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING[model_type])
    raise ValueError(
        f"no default LoRA target modules for model type '{model_type}'; set lora.target_modules "
        "to the names of its attention projections (e.g. ['q_proj', 'v_proj'])"
    )


def _top_layers(model: Any, last_layers: int | None) -> list[int] | None:
    if last_layers is None:
        return None
    depth = model.config.num_hidden_layers
    if last_layers > depth:
        raise ValueError(
            f"lora.last_layers {last_layers} exceeds the {depth} layers of model type "
            f"'{model.config.model_type}'"
        )
    return list(range(depth - last_layers, depth))


def attach_lora(
    model: Any,
    *,
    task: Literal["classification", "instruction"],
    r: int,
    alpha: float,
    dropout: float,
    target_modules: list[str] | None,
    mode: Literal["standard", "ffa"],
    seed: int,
    last_layers: int | None = None,
) -> PeftModel:
    """Wrap `model` (modified in place) with LoRA; only LoRA and the head are trainable.

    The A matrices are drawn from `seed` (B starts at zero, as in peft), so every party that
    attaches with the same arguments holds bit-identical adapters. Classification trains a
    copy of the head (peft `modules_to_save`). `mode="ffa"` freezes A: see the module docstring.
    `last_layers=N` adapts only the top N transformer layers (peft `layers_to_transform`).
    """
    if task not in _TASK_TYPES:
        raise ValueError(f"task '{task}' is not one of {sorted(_TASK_TYPES)}")
    if mode not in ("standard", "ffa"):
        raise ValueError(f"lora.mode '{mode}' is not one of 'standard', 'ffa'")
    targets = (
        list(target_modules) if target_modules else default_target_modules(model.config.model_type)
    )
    config = LoraConfig(
        task_type=_TASK_TYPES[task],
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        layers_to_transform=_top_layers(model, last_layers),
        bias="none",
    )
    # Forked so the caller's random state is untouched; seeded so A is the same everywhere.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            peft_model = get_peft_model(model, config)
        except ValueError as err:
            raise ValueError(
                f"lora.target_modules {targets} do not match modules of model type "
                f"'{model.config.model_type}': {err}"
            ) from err
    if mode == "ffa":
        for name, p in peft_model.named_parameters():
            if "lora_A" in name:
                p.requires_grad_(False)

    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in peft_model.parameters())
    log.info(
        "LoRA %s r=%d on %s of %s layers: %d of %d parameters trainable (%.3f%%)",
        mode,
        r,
        targets,
        "all" if last_layers is None else f"the top {last_layers}",
        trainable,
        total,
        100.0 * trainable / total,
    )
    return peft_model
