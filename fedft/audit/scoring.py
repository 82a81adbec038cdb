"""What a model says about the canaries: per-canary loss and the log-likelihood of secrets.

Inputs are tokenized with the same functions as training (`fedft.data.tokenize`), so the
scored token ids are exactly the trained ones (responses tokenized apart from prompts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import datasets
import numpy as np
import torch

from fedft.data.tokenize import (
    IGNORE_INDEX,
    make_collator,
    tokenize_classification,
    tokenize_instruction,
)

__all__ = ["classification_losses", "response_log_likelihoods"]


def _batches(ds: datasets.Dataset, collate: Any, batch_size: int):
    # Whole columns as lists once: indexing a torch-formatted Dataset row by row is ~100x slower.
    columns = {k: ds.with_format(None)[k] for k in ds.column_names}
    for start in range(0, len(ds), batch_size):
        end = min(start + batch_size, len(ds))
        yield collate([{k: v[i] for k, v in columns.items()} for i in range(start, end)])


@torch.no_grad()
def response_log_likelihoods(
    model: Any,
    tokenizer: Any,
    *,
    prompts: Sequence[str],
    responses: Sequence[str],
    max_length: int = 128,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """log P(response | prompt) in nats per pair: the sum over the response's tokens and the
    end token. Higher = the model finds the response more likely."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts for {len(responses)} responses; pair them")
    ds = datasets.Dataset.from_dict(
        {"instruction": list(prompts), "input": [""] * len(prompts), "response": list(responses)}
    )
    tokens = tokenize_instruction(ds, tokenizer, max_length=max_length)
    if len(tokens) != len(ds):
        raise ValueError(f"some canaries do not fit in {max_length} tokens; raise data.max_length")
    collate = make_collator("instruction", tokenizer)
    model.eval()
    out = []
    for batch in _batches(tokens, collate, batch_size):
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        # Token t is predicted from position t − 1.
        labels = batch["labels"][:, 1:]
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        mask = labels != IGNORE_INDEX
        picked = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        out.append((picked * mask).sum(dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


@torch.no_grad()
def classification_losses(
    model: Any,
    tokenizer: Any,
    *,
    texts: Sequence[str],
    labels: Sequence[str],
    label2id: dict[str, int],
    max_length: int = 128,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Cross-entropy (nats) of each text's label under the classifier."""
    ds = datasets.Dataset.from_dict({"text": list(texts), "label": list(labels)})
    tokens = tokenize_classification(ds, tokenizer, max_length=max_length, label2id=label2id)
    collate = make_collator("classification", tokenizer)
    model.eval()
    out = []
    for batch in _batches(tokens, collate, batch_size):
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), batch["labels"], reduction="none")
        out.append(loss.cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)
