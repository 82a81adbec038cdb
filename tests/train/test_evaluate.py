"""Tests for fedft.train.evaluate: metrics agree with hand computation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fedft.train.evaluate import evaluate, evaluate_classification, expected_calibration_error


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
    assert set(metrics) == {"loss", "accuracy", "macro_f1", "ece"}
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


def test_ece_matches_a_hand_computed_case() -> None:
    # Prepare: 15 bins of width 1/15. Confidences 0.95, 0.95 (bin 15), 0.55 (bin 9),
    # 0.05 (bin 1), 1.0 (bin 15: a bin is (lo, hi]). Bin 15: 3 items, 2 correct, mean conf
    # 0.9667 -> |0.6667 - 0.9667| = 0.3; bin 9: |1 - 0.55| = 0.45; bin 1: |0 - 0.05| = 0.05.
    confidence = [0.95, 0.95, 0.55, 0.05, 1.0]
    correct = [True, False, True, False, True]
    expected = (3 / 5) * 0.3 + (1 / 5) * 0.45 + (1 / 5) * 0.05

    # Execute
    ece = expected_calibration_error(confidence, correct)

    # Assert
    assert ece == pytest.approx(expected)
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0


def test_macro_f1_recall_and_confusion_agree_with_the_logits(build_model, minilm_batches) -> None:
    # Prepare
    from sklearn.metrics import f1_score

    model, _ = build_model("minilm", num_labels=2)
    model.eval()
    with torch.inference_mode():
        logits = torch.cat(
            [model(**{k: v for k, v in b.items() if k != "labels"}).logits for b in minilm_batches]
        )
    labels = torch.cat([b["labels"] for b in minilm_batches]).numpy()
    predicted = logits.argmax(-1).numpy()

    # Execute
    result = evaluate_classification(model, minilm_batches, device="cpu")

    # Assert
    assert result.metrics["macro_f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    assert sum(map(sum, result.confusion)) == len(labels)
    for k in (0, 1):
        assert result.confusion[k][k] == int(((labels == k) & (predicted == k)).sum())
        support = (labels == k).sum()
        assert result.recall_per_class[k] == pytest.approx(result.confusion[k][k] / support)
    assert result.metrics == evaluate(model, minilm_batches, task="classification", device="cpu")
