"""A canary experiment without Flower: one site's data plus planted canaries, trained with
fedft's own loops (plain or DP-SGD), then scored. For tests and benchmarks that check the
audit itself — how much a setting memorizes, whether DP closes the gap, whether a wrong ε
claim is caught — at a fraction of a federation's cost.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import torch

from fedft.audit.canaries import CanaryRecord, draw_inclusion, make_canaries, plant_canaries
from fedft.audit.measure import CanaryScores, score_canaries
from fedft.data.tokenize import make_collator, tokenize_classification, tokenize_instruction

__all__ = ["CanarySet", "TrainedRun", "plant_sets", "train_and_score"]


@dataclass(frozen=True)
class CanarySet:
    name: str  # stands for the site id in the canary texts' seed
    count: int
    repeats: int


@dataclass(frozen=True)
class TrainedRun:
    records: dict[str, CanaryRecord]
    scores: dict[str, CanaryScores]
    epsilon: float | None  # accounted by fedft's accountant (None = no DP)
    delta: float | None
    noise_multiplier: float | None
    sample_rate: float | None
    steps: int
    train_loss: float
    group_size: int = 1  # records the ε holds for together (dp.group_size)


def plant_sets(
    base: datasets.Dataset,
    *,
    task: str,
    sets: Sequence[CanarySet],
    seed: int,
    rng: random.Random,
    labels: Sequence[str] | None = None,
) -> tuple[datasets.Dataset, dict[str, CanaryRecord]]:
    """`base` with every set's canaries planted; the inclusion bits come from `rng`."""
    ds, records = base, {}
    for s in sets:
        canaries = make_canaries(task=task, count=s.count, seed=seed, site=s.name, labels=labels)  # type: ignore[arg-type]
        included = draw_inclusion(s.count, rng=rng)
        before = len(ds)
        ds = plant_canaries(ds, canaries=canaries, included=included, repeats=s.repeats, task=task)  # type: ignore[arg-type]
        records[s.name] = CanaryRecord(
            site=s.name,
            task=task,  # type: ignore[arg-type]
            repeats=s.repeats,
            seed=seed,
            canaries=tuple(canaries),
            included=tuple(included),
            records_before=before,
            records_after=len(ds),
        )
    return ds, records


def train_and_score(
    build_model: Callable[[], tuple[Any, Any]],
    data: datasets.Dataset,
    records: dict[str, CanaryRecord],
    *,
    task: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    dp: Any = None,
    candidates: int = 0,
    max_length: int = 64,
    label2id: dict[str, int] | None = None,
    seed: int = 0,
) -> TrainedRun:
    """Train a fresh model from `build_model()` on `data` (DP-SGD when `dp`, a DPConfig, is
    enabled), score every canary record against an untrained copy, return both."""
    from fedft.dp.budget import SiteBudget
    from fedft.dp.plan import plan_dp
    from fedft.dp.sgd import train_round_private
    from fedft.train.local import train_local

    model, tokenizer = build_model()
    reference, _ = build_model()
    if task == "instruction":
        tokens = tokenize_instruction(data, tokenizer, max_length=max_length)
    else:
        tokens = tokenize_classification(
            data, tokenizer, max_length=max_length, label2id=label2id or {}
        )
    collate = make_collator(task, tokenizer)  # type: ignore[arg-type]
    eps = delta = noise = rate = None
    if dp is not None and dp.enabled:
        plan = plan_dp(
            dp,
            n_records=len(tokens),
            batch_size=batch_size,
            local_epochs=epochs,
            max_steps=None,
            rounds=1,
        )
        with tempfile.TemporaryDirectory() as folder:
            budget = SiteBudget.load(
                Path(folder) / "budget.json",
                accountant=plan.accountant,
                delta=plan.delta,
                max_epsilon=None,
                group_size=plan.group_size,
            )
            result = train_round_private(
                model,
                tokens,
                collate_fn=collate,
                plan=plan,
                budget=budget,
                server_round=1,
                learning_rate=learning_rate,
                weight_decay=0.0,
                device="cpu",
            )
        train, eps, delta = result.train, result.account.epsilon_total, plan.delta
        noise, rate = plan.noise_multiplier, plan.sample_rate
    else:
        loader = torch.utils.data.DataLoader(
            tokens,
            batch_size=batch_size,
            shuffle=True,
            collate_fn=collate,
            generator=torch.Generator().manual_seed(seed),
        )
        train = train_local(
            model,
            loader,
            epochs=epochs,
            max_steps=None,
            learning_rate=learning_rate,
            weight_decay=0.0,
            max_grad_norm=1.0,
            device="cpu",
        )
    scores = {
        name: score_canaries(
            model,
            tokenizer,
            record=rec,
            reference=reference,
            label2id=label2id,
            candidates=candidates if task == "instruction" else 0,
            max_length=max_length,
        )
        for name, rec in records.items()
    }
    group = dp.group_size if dp is not None and dp.enabled else 1
    return TrainedRun(
        records, scores, eps, delta, noise, rate, int(train.steps), float(train.loss), group
    )
