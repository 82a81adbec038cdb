"""The least-squares head of `model.head_fit`: the sites' averaged statistics give exactly the
ridge fit over their pooled records, whatever the public scale; the statistics are those of
what the head reads."""

from __future__ import annotations

import math

import datasets
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from fedft.data.tokenize import make_collator, tokenize_classification
from fedft.model.head_fit import feature_statistics, fitted_head, head_names


def _site_statistics(h: np.ndarray, y: np.ndarray, classes: int, scale: float) -> list[np.ndarray]:
    z = np.hstack([h, np.ones((len(h), 1))]) / math.sqrt(2)
    return [scale * z.T @ z / len(h), scale * z.T @ np.eye(classes)[y] / len(h)]


@pytest.mark.parametrize("scale", [1.0, 5.0])
def test_averaged_site_statistics_fit_the_pooled_ridge_head(scale):
    # Prepare: three sites of different sizes and label mixes, 6-dimensional features.
    rng = np.random.default_rng(0)
    sites = [(rng.normal(size=(n, 6)), rng.integers(0, 3, n)) for n in (40, 7, 90)]
    ridge = 1e-2

    # Execute: the record-weighted mean of the sites' statistics, as FedAvg/SecAgg+ gives it.
    stats = [_site_statistics(h, y, 3, scale) for h, y in sites]
    sizes = [len(y) for _, y in sites]
    mean = [sum(n * s[i] for n, s in zip(sizes, stats, strict=True)) / sum(sizes) for i in (0, 1)]
    weight, bias = fitted_head(mean, scale=scale, ridge=ridge, temperature=1.0)
    sharp = fitted_head(mean, scale=scale, ridge=ridge, temperature=6.0)

    # Assert: the ridge solution over all records at once, (Z'Z/N + ρI)⁻¹ Z'Y/N, read as a
    # Linear layer on h.
    h = np.vstack([h for h, _ in sites])
    y = np.concatenate([y for _, y in sites])
    z = np.hstack([h, np.ones((len(h), 1))]) / math.sqrt(2)
    solution = np.linalg.solve(z.T @ z / len(z) + ridge * np.eye(7), z.T @ np.eye(3)[y] / len(z))
    np.testing.assert_allclose(h @ weight.T + bias, z @ solution, rtol=1e-4, atol=1e-5)
    assert weight.shape == (3, 6) and bias.shape == (3,)
    # The temperature scales the logits, so it never changes a prediction.
    np.testing.assert_allclose(sharp[0], 6.0 * weight, rtol=1e-6)
    np.testing.assert_allclose(sharp[1], 6.0 * bias, rtol=1e-6, atol=1e-7)


def test_statistics_are_those_of_the_heads_input(build_model):
    # Prepare: MiniLM with LoRA; the pooled output, computed apart, is what the head reads.
    model, tokenizer = build_model("minilm", r=2, num_labels=3)
    texts = ["chest pain and palpitations", "a rash on the arm", "knee surgery follow-up", "ok"]
    ds = datasets.Dataset.from_dict({"text": texts, "label": ["a", "b", "c", "a"]})
    labels = {"a": 0, "b": 1, "c": 2}
    tokenized = tokenize_classification(ds, tokenizer, max_length=32, label2id=labels)
    collate = make_collator("classification", tokenizer)
    model.eval()
    with torch.no_grad():
        batch = collate([tokenized[i] for i in range(len(tokenized))])
        pooled = model.base_model.model.bert(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).pooler_output.numpy()

    # Execute: in batches of 3 (a partial last batch), scaled by 2.
    stats, n = feature_statistics(
        model, DataLoader(tokenized, batch_size=3, collate_fn=collate), scale=2.0
    )

    # Assert
    expected = _site_statistics(pooled.astype(np.float64), np.array([0, 1, 2, 0]), 3, 2.0)
    assert n == 4
    for got, want in zip(stats, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_a_model_without_one_linear_head_is_named():
    with pytest.raises(ValueError, match="one trainable linear head"):
        head_names(["base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight"])
