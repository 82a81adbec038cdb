"""Poisson batches as DP-SGD steps: empty batches become accounted noise-only steps, large
ones are cut into physical pieces that the optimizer accumulates before one noisy step."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from opacus.optimizers import DPOptimizer
from torch.utils.data import DataLoader

__all__ = ["StepBudgetedBatches", "physical_batches"]


def _is_empty(batch: Any) -> bool:
    """True for a Poisson batch with no record (Opacus gives zero-length tensors, or a list)."""
    values = batch.values() if isinstance(batch, Mapping) else batch
    sizes = [v.shape[0] for v in values if isinstance(v, torch.Tensor) and v.dim() > 0]
    return not sizes or max(sizes) == 0


def _noise_only_step(optimizer: DPOptimizer) -> None:
    """One DP-SGD step on an empty batch: zero clipped sum + Gaussian noise, accounted."""
    optimizer.zero_grad(set_to_none=True)
    for p in optimizer.params:
        p.grad_sample = torch.zeros((0, *p.shape), dtype=p.dtype, device=p.device)
    optimizer.step()


def physical_batches(batch: Mapping[str, Any], size: int) -> Iterator[dict[str, Any]]:
    """Split a Poisson batch into pieces of at most `size` examples, each cut to its own
    longest row (columns past the last unmasked token of the piece are padding only)."""
    n = max(v.shape[0] for v in batch.values() if isinstance(v, torch.Tensor) and v.dim() > 0)
    for start in range(0, n, size):
        piece = {
            k: v[start : start + size] if isinstance(v, torch.Tensor) and v.dim() > 0 else v
            for k, v in batch.items()
        }
        mask = piece.get("attention_mask")
        if isinstance(mask, torch.Tensor) and mask.dim() == 2:
            used = torch.nonzero(mask.any(dim=0))
            width = int(used.max()) + 1 if len(used) else mask.shape[1]
            if width < mask.shape[1]:
                piece = {
                    k: v[:, :width]
                    if isinstance(v, torch.Tensor) and v.dim() == 2 and v.shape[1] == mask.shape[1]
                    else v
                    for k, v in piece.items()
                }
        yield piece


class StepBudgetedBatches:
    """Yields non-empty Poisson batches until `steps` DP steps are done (empty ones included).

    A batch larger than `physical_batch_size` is yielded in pieces; the optimizer is told to
    accumulate (Opacus's `signal_skip_step`, as its BatchMemoryManager does) until the last
    piece, so clipping is per example and noise is added once per Poisson batch.
    The count is kept across iterations, so `train_local(..., epochs=k)` cannot overspend.
    """

    def __init__(
        self,
        loader: DataLoader,
        optimizer: DPOptimizer,
        steps: int,
        physical_batch_size: int | None = None,
    ):
        self._loader, self._optimizer, self.steps = loader, optimizer, steps
        self._physical = physical_batch_size
        self.done = 0
        self.empty = 0

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[Any]:
        while self.done < self.steps:
            for batch in self._loader:
                if self.done >= self.steps:
                    return
                self.done += 1
                if _is_empty(batch):
                    self.empty += 1
                    _noise_only_step(self._optimizer)
                    continue
                if self._physical is None:
                    yield batch
                    continue
                pieces = list(physical_batches(batch, self._physical))
                for i, piece in enumerate(pieces):
                    self._optimizer.signal_skip_step(do_skip=i < len(pieces) - 1)
                    yield piece
