"""What the server saw of one training round, and how a round fails (plaintext scalars only).

Flower-free: the coordinator records it, the Flower strategy fills it in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Consecutive rounds SecAgg+ may abort before the run stops.
MAX_ABORTED_IN_A_ROW = 3
# The declared fit metric naming a site (its node config's `site-id`).
SITE_ID_METRIC = "site_id"


@dataclass
class FitSummary:
    """What the server saw of one training round (plaintext scalars only)."""

    server_round: int
    sampled: int = 0
    finished: int = 0
    failures: list[str] = field(default_factory=list)
    train_loss: float | None = None
    bytes_up_per_client: int = 0
    bytes_down_per_client: int = 0
    examples: int | None = 0  # None under site-level DP (weights are not record counts)
    # Per site: {"site", "node", "status": trained|failed, "num_examples", "metrics" | "reason"}.
    sites: list[dict] = field(default_factory=list)
    aborted: bool = False  # SecAgg+ ended the round without an aggregate: nothing was applied


class RoundFailedError(RuntimeError):
    """A round in which no site returned a usable update."""


def weighted_loss(results: Iterable[tuple[int, Mapping[str, Any]]]) -> float | None:
    """Mean of the sites' declared `train_loss`, weighted by their example counts."""
    pairs = [(n, float(m["train_loss"])) for n, m in results if "train_loss" in m]
    total = sum(n for n, _ in pairs)
    return sum(n * loss for n, loss in pairs) / total if total else None


def without_repeats(nodes: list[str | None], reasons: list[str]) -> list[tuple[str | None, str]]:
    """Failures by node, dropping an unattributed one whose reason a named node already has:
    SecAgg+ reports a vanished node once per stage, and it is one failed site, not two."""
    named = {reason for node, reason in zip(nodes, reasons, strict=True) if node is not None}
    return [
        (node, reason)
        for node, reason in zip(nodes, reasons, strict=True)
        if node is not None or reason not in named
    ]
