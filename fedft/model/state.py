"""The trainable state: the only model tensors that travel between a site and the server.

A state is a `dict[str, np.ndarray]` (float32) keyed by the parameter names of the model, in
the model's parameter order, holding only parameters with `requires_grad` (LoRA matrices and
the classification head). Every party builds the same model from the same config, so names,
order and shapes agree; anything else is a configuration mismatch and is rejected.

The arithmetic below is pure: inputs are never modified and new arrays are returned.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

import numpy as np
import torch

log = logging.getLogger(__name__)

State = dict[str, np.ndarray]

# Error messages list at most this many offending names (a model has ~100 tensors).
_MAX_NAMES_SHOWN = 5


def _trainable(model: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def trainable_state(model: torch.nn.Module) -> State:
    """A float32 copy of every trainable parameter, in the model's parameter order."""
    return {
        name: p.detach().to(device="cpu", dtype=torch.float32).numpy().copy()
        for name, p in _trainable(model).items()
    }


def frozen_adapter_sha256(model: torch.nn.Module) -> str:
    """Hash of the adapter tensors that never travel (FFA-LoRA's frozen A).

    Every party rebuilds them from the seed; a different seed or torch version would change
    them silently, so the server sends this hash and each site checks it before training.
    """
    h = hashlib.sha256()
    for name, p in model.named_parameters():
        if "lora_" in name and not p.requires_grad:
            h.update(name.encode())
            h.update(p.detach().to(device="cpu", dtype=torch.float32).numpy().tobytes())
    return h.hexdigest()


def _names(names: set[str]) -> str:
    shown = sorted(names)[:_MAX_NAMES_SHOWN]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def _check_same_names(
    *, expected: Mapping[str, object], got: Mapping[str, object], what: str
) -> None:
    missing = set(expected) - set(got)
    extra = set(got) - set(expected)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)}: {_names(missing)}")
        if extra:
            parts.append(f"unexpected {len(extra)}: {_names(extra)}")
        raise ValueError(
            f"{what} does not match the model's trainable tensors ({'; '.join(parts)}); "
            "both sides must use the same model, LoRA and label configuration"
        )


def load_trainable_state(model: torch.nn.Module, state: Mapping[str, np.ndarray]) -> None:
    """Copy `state` into the model's trainable parameters; all-or-nothing.

    Strict: a missing or extra name, or a wrong shape, raises ValueError naming the tensor,
    before any parameter is written.
    """
    params = _trainable(model)
    _check_same_names(expected=params, got=state, what="state")
    for name, p in params.items():
        shape = tuple(np.shape(state[name]))
        if shape != tuple(p.shape):
            raise ValueError(
                f"state tensor '{name}' has shape {shape}, the model expects {tuple(p.shape)}; "
                "check lora.r, lora.target_modules and the number of labels on both sides"
            )
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(torch.as_tensor(np.asarray(state[name]), dtype=p.dtype, device=p.device))


def state_nbytes(state: Mapping[str, np.ndarray]) -> int:
    """Bytes of the arrays as held (float32: 4 per value)."""
    return int(sum(np.asarray(a).nbytes for a in state.values()))


def _check_layout(*, a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], what: str) -> None:
    _check_same_names(expected=a, got=b, what=what)
    for name, x in a.items():
        if np.shape(x) != np.shape(b[name]):
            raise ValueError(
                f"{what}: tensor '{name}' has shape {np.shape(b[name])}, expected {np.shape(x)}"
            )


def state_delta(*, new: Mapping[str, np.ndarray], old: Mapping[str, np.ndarray]) -> State:
    """`new - old` per tensor, in `new`'s order."""
    _check_layout(a=new, b=old, what="old state")
    return {
        name: (np.asarray(x, np.float32) - np.asarray(old[name], np.float32))
        for name, x in new.items()
    }


def state_sha256(arrays: list[np.ndarray]) -> str:
    """Content hash of a global adapter, sent with each round so sites can check what they got."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
    return h.hexdigest()
