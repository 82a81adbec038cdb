"""What a model says about the canaries: per-canary loss and the log-likelihood of secrets.

Inputs are tokenized with the same functions as training (`fedft.data.tokenize`), so the
scored token ids are exactly the trained ones (responses tokenized apart from prompts).
"""

from __future__ import annotations

import copy
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
    # Whole columns as lists once: indexing a Dataset (or its Column) row by row is far slower.
    columns = ds.with_format(None).to_dict()
    for start in range(0, len(ds), batch_size):
        end = min(start + batch_size, len(ds))
        yield collate([{k: v[i] for k, v in columns.items()} for i in range(start, end)])


Groups = dict[tuple[int, ...], list[tuple[int, list[int]]]]


def _split_by_prompt(tokens: datasets.Dataset) -> Groups:
    """prompt ids -> [(row, answer ids)]: the label-masked head of each row is its prompt."""
    rows = tokens.with_format(None).to_dict()
    groups: Groups = {}
    for i, (ids, labels) in enumerate(zip(rows["input_ids"], rows["labels"], strict=True)):
        n = labels.count(IGNORE_INDEX)  # labels = IGNORE_INDEX × len(prompt) + answer
        groups.setdefault(tuple(ids[:n]), []).append((i, ids[n:]))
    return groups


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
    end token. Higher = the model finds the response more likely.

    Exposure ranks each secret among R candidates that share its prompt, so each distinct
    prompt runs through the model once and its key/value cache is reused for all of its
    responses (the prompt is most of the tokens: 4-5x less compute, same values to float
    rounding; tests/audit/test_scoring.py)."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts for {len(responses)} responses; pair them")
    ds = datasets.Dataset.from_dict(
        {"instruction": list(prompts), "input": [""] * len(prompts), "response": list(responses)}
    )
    tokens = tokenize_instruction(ds, tokenizer, max_length=max_length)
    if len(tokens) != len(ds):
        raise ValueError(f"some canaries do not fit in {max_length} tokens; raise data.max_length")
    model.eval()
    out = np.zeros(len(ds))
    for prompt, items in _split_by_prompt(tokens).items():
        head = model(input_ids=torch.tensor([prompt], device=device), use_cache=True)
        # The first answer token is predicted from the prompt's last position.
        first = torch.log_softmax(head.logits[0, -1].float(), dim=-1)
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            width = max(len(a) for _, a in chunk)
            # Right padding: real tokens never attend to the pads after them (causal).
            answers = torch.zeros((len(chunk), width), dtype=torch.long, device=device)
            mask = torch.zeros((len(chunk), width), dtype=torch.bool, device=device)
            for j, (_, a) in enumerate(chunk):
                answers[j, : len(a)] = torch.tensor(a)
                mask[j, : len(a)] = True
            cache = copy.deepcopy(head.past_key_values)
            cache.batch_repeat_interleave(len(chunk))
            logits = model(input_ids=answers, past_key_values=cache, use_cache=True).logits
            logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            picked = logp.gather(-1, answers[:, 1:].unsqueeze(-1)).squeeze(-1) * mask[:, 1:]
            total = first[answers[:, 0]] + picked.sum(dim=1)
            out[[i for i, _ in chunk]] = total.cpu().numpy()
    return out


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
