"""Tests for fedft.train.evaluate: metrics agree with hand computation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fedft.train.evaluate import evaluate


def test_classification_loss_and_accuracy(build_model, minilm_batches) -> None:
    # Prepare: reference from the logits of all examples at once
    model, _ = build_model("minilm", num_labels=2)
    model.eval()
    with torch.inference_mode():
        logits = torch.cat(
            [model(**{k: v for k, v in b.items() if k != "labels"}).logits for b in minilm_batches]
        )
    labels = torch.cat([b["labels"] for b in minilm_batches])
    model.train()

    # Execute
    metrics = evaluate(model, minilm_batches, task="classification", device="cpu")

    # Assert
    assert set(metrics) == {"loss", "accuracy"}
    assert metrics["loss"] == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-5)
    assert metrics["accuracy"] == pytest.approx((logits.argmax(-1) == labels).float().mean().item())
    assert not model.training


def test_instruction_loss_is_token_weighted_over_responses(build_model, llama_batches) -> None:
    # Prepare: Hugging Face's own loss is the mean over response tokens of one batch
    model, _ = build_model("llama")
    model.eval()
    per_batch = []
    with torch.inference_mode():
        for b in llama_batches:
            tokens = int((b["labels"][:, 1:] != -100).sum())
            per_batch.append((model(**b).loss.item(), tokens))
    expected = sum(loss * n for loss, n in per_batch) / sum(n for _, n in per_batch)
    assert per_batch[0][1] != per_batch[1][1], (
        "batches must differ in tokens for this test to mean anything"
    )

    # Execute
    metrics = evaluate(model, llama_batches, task="instruction", device="cpu")

    # Assert
    assert set(metrics) == {"loss", "perplexity"}
    assert metrics["loss"] == pytest.approx(expected, rel=1e-5)
    assert metrics["loss"] != pytest.approx(sum(loss for loss, _ in per_batch) / 2, rel=1e-4)
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["loss"]))
    # An untrained model is near uniform over its vocabulary: perplexity of order the vocab size.
    assert 1.0 < metrics["perplexity"] < 10 * model.config.vocab_size


@pytest.mark.parametrize(
    ("task", "loader", "message"),
    [
        ("classification", [], "no labelled examples"),
        ("instruction", "all-masked", "no response tokens"),
        ("regression", [], "not one of"),
    ],
)
def test_evaluate_errors(build_model, llama_batches, task: str, loader, message: str) -> None:
    # Prepare
    model, _ = build_model("llama")
    if loader == "all-masked":
        loader = [{**b, "labels": torch.full_like(b["labels"], -100)} for b in llama_batches]

    # Execute / Assert
    with pytest.raises(ValueError, match=message):
        evaluate(model, loader, task=task, device="cpu")
