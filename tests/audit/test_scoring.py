"""Secret log-likelihoods with the shared-prompt cache equal a plain full-sequence pass."""

import datasets
import pytest
import torch

from fedft.audit.scoring import response_log_likelihoods
from fedft.data.tokenize import IGNORE_INDEX, tokenize_instruction

PROMPTS = ["Ward QX-41: the access code of the ward safe is"] * 3 + ["Ward AB-7: the code is"] * 2
RESPONSES = ["384 192 7716", "1", "55 5555 555 55", "000 000 0000", "9 8"]


def _full_pass(model, tokenizer, prompt: str, response: str) -> float:
    row = {"instruction": [prompt], "input": [""], "response": [response]}
    ds = datasets.Dataset.from_dict(row)
    tokens = tokenize_instruction(ds, tokenizer, max_length=128)[0]
    with torch.no_grad():
        logits = model(input_ids=tokens["input_ids"][None]).logits[0]
    logp = torch.log_softmax(logits[:-1].float(), dim=-1)
    labels = tokens["labels"][1:]
    keep = labels != IGNORE_INDEX
    return float(logp[keep].gather(-1, labels[keep][:, None]).sum())


def test_cached_prompt_scores_equal_full_sequence_scores(build):
    # Prepare: the LoRA-wrapped model the audit scores
    model, tokenizer = build()
    model.eval()

    # Execute: batches of 2 split one prompt's responses across batches
    scores = response_log_likelihoods(
        model, tokenizer, prompts=PROMPTS, responses=RESPONSES, batch_size=2
    )

    # Assert
    expected = [_full_pass(model, tokenizer, p, r) for p, r in zip(PROMPTS, RESPONSES, strict=True)]
    assert scores.tolist() == pytest.approx(expected, abs=1e-4)
    assert len(set(scores.tolist())) == len(RESPONSES)  # not one value copied around
