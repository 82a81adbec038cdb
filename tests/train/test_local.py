"""Tests for fedft.train.local: the loop learns, FedProx pulls back, edge cases fail clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fedft.model.state import load_trainable_state, trainable_state
from fedft.train.evaluate import evaluate
from fedft.train.local import TrainResult, make_optimizer, train_local

TRAIN = {"max_steps": None, "weight_decay": 0.0, "max_grad_norm": 1.0, "device": "cpu"}


@pytest.mark.parametrize(
    ("kind", "task", "batches", "lr", "epochs"),
    [
        ("minilm", "classification", "minilm_batches", 5e-3, 5),
        ("llama", "instruction", "llama_batches", 3e-2, 5),
    ],
)
def test_training_lowers_the_loss(
    build_model, request, kind: str, task: str, batches: str, lr: float, epochs: int
) -> None:
    # Prepare
    model, _ = build_model(kind, mode="standard", r=4)
    loader = request.getfixturevalue(batches)
    before = evaluate(model, loader, task=task, device="cpu")["loss"]

    # Execute
    result = train_local(model, loader, epochs=epochs, learning_rate=lr, **TRAIN)

    # Assert
    after = evaluate(model, loader, task=task, device="cpu")["loss"]
    n_examples = sum(len(b["labels"]) for b in loader)
    assert result == TrainResult(
        loss=result.loss, steps=epochs * len(loader), examples=epochs * n_examples
    )
    assert after < 0.8 * before, (before, after)
    assert np.isfinite(result.loss)


def test_ffa_training_moves_b_and_leaves_a(build_model, llama_batches) -> None:
    # Prepare
    model, _ = build_model("llama", mode="ffa")
    a_before = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_A" in n}
    b_before = trainable_state(model)

    # Execute
    train_local(model, llama_batches, epochs=1, learning_rate=1e-2, **TRAIN)

    # Assert
    assert all(torch.equal(p, a_before[n]) for n, p in model.named_parameters() if "lora_A" in n)
    b_after = trainable_state(model)
    assert all(not np.array_equal(b_after[n], b_before[n]) for n in b_before)


def _distance(a: dict, b: dict) -> float:
    return float(np.sqrt(sum(((a[n] - b[n]) ** 2).sum() for n in a)))


def test_fedprox_term_pulls_weights_toward_global(build_model, llama_batches) -> None:
    # Prepare: the same start, data and optimizer; only mu differs
    distances = {}
    for mu in (0.0, 50.0):
        model, _ = build_model("llama", mode="standard", seed=2)
        global_state = trainable_state(model)

        # Execute
        train_local(
            model,
            llama_batches,
            epochs=5,
            learning_rate=1e-2,
            proximal_mu=mu,
            global_state=global_state,
            **TRAIN,
        )
        distances[mu] = _distance(trainable_state(model), global_state)

    # Assert
    assert distances[50.0] < 0.8 * distances[0.0], distances


def test_empty_batches_are_skipped_and_max_steps_caps(build_model, llama_batches) -> None:
    # Prepare: Poisson sampling can draw batches with zero rows
    empty = {k: v[:0] for k, v in llama_batches[0].items()}
    loader = [empty, llama_batches[0], empty, llama_batches[1]]
    calls: list[tuple[int, int, float]] = []
    model, _ = build_model("llama")

    # Execute
    result = train_local(
        model,
        loader,
        epochs=5,
        learning_rate=1e-3,
        on_step=lambda *a: calls.append(a),
        **{**TRAIN, "max_steps": 3},
    )

    # Assert
    assert (result.steps, result.examples) == (3, 6)
    assert [(step, total) for step, total, _ in calls] == [(1, 3), (2, 3), (3, 3)]
    assert result.loss == pytest.approx(sum(loss for *_, loss in calls) / 3)


def test_prebuilt_optimizer_is_used(build_model, llama_batches) -> None:
    # Prepare: the seam a DP wrapper uses; a zero learning rate must leave weights unchanged
    model, _ = build_model("llama", mode="standard")
    before = trainable_state(model)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.0)

    # Execute
    result = train_local(
        model, llama_batches, epochs=1, learning_rate=1.0, optimizer=optimizer, **TRAIN
    )

    # Assert
    assert result.steps == 2
    after = trainable_state(model)
    assert all(np.array_equal(before[n], after[n]) for n in before)


def test_non_finite_loss_fails_clearly(build_model, llama_batches) -> None:
    # Prepare
    model, _ = build_model("llama", mode="standard")
    state = trainable_state(model)
    load_trainable_state(model, {n: np.full_like(a, np.nan) for n, a in state.items()})

    # Execute / Assert
    with pytest.raises(
        FloatingPointError, match="training loss is nan at step 1; lower training.learning_rate"
    ):
        train_local(model, llama_batches, epochs=1, learning_rate=1e-3, **TRAIN)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs is 0"),
        ({"max_steps": 0}, "max_steps is 0"),
        ({"proximal_mu": -1.0}, "proximal_mu is -1.0"),
        ({"proximal_mu": 0.1}, "needs global_state"),
        ({"proximal_mu": 0.1, "global_state": {"x": np.zeros(1)}}, "global_state lacks"),
    ],
)
def test_argument_errors(build_model, llama_batches, kwargs: dict, message: str) -> None:
    # Prepare
    model, _ = build_model("llama")
    args = {**TRAIN, "epochs": 1, "learning_rate": 1e-3, **kwargs}

    # Execute / Assert
    with pytest.raises(ValueError, match=message):
        train_local(model, llama_batches, **args)


def test_make_optimizer_needs_trainable_parameters() -> None:
    with pytest.raises(ValueError, match="no trainable parameters"):
        make_optimizer(
            torch.nn.Linear(2, 2).requires_grad_(False), learning_rate=1e-3, weight_decay=0.0
        )
