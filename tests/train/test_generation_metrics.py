"""Tests for fedft.train.generation_metrics: prompts split from labels, bounded generation,
rouge-score's ROUGE-L and exact match."""

from __future__ import annotations

import pytest
import torch

from fedft.config import load_config
from fedft.model.load import ResolvedModel, load_tokenizer
from fedft.train.evaluate import evaluate
from fedft.train.generation_metrics import (
    GenerationBudget,
    generation_budget,
    generation_metrics,
    split_prompt,
)


@pytest.mark.parametrize("side", ["right", "left"])
def test_split_prompt_drops_padding_on_either_side(side):
    ids, labels = torch.tensor([5, 6, 7, 8, 9]), torch.tensor([-100, -100, -100, 8, 9])
    pad = (torch.tensor([0, 0]), torch.tensor([0, 0]), torch.tensor([-100, -100]))
    mask = torch.ones(5, dtype=torch.long)
    parts = [(ids, mask, labels), pad] if side == "right" else [pad, (ids, mask, labels)]
    row = [torch.cat([p[k] for p in parts]) for k in range(3)]

    prompt, reference = split_prompt(*row)

    assert prompt.tolist() == [5, 6, 7]
    assert reference.tolist() == [8, 9]


def test_a_row_without_response_tokens_is_skipped():
    assert (
        split_prompt(torch.tensor([1, 2]), torch.tensor([1, 1]), torch.tensor([-100, -100])) is None
    )


class _Echo(torch.nn.Module):
    """Answers with the reference (the batch's response tokens) or with `wrong` tokens."""

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.max_new_tokens = []

    def generate(self, *, input_ids, attention_mask, max_new_tokens, do_sample, pad_token_id):
        assert not do_sample and attention_mask.shape == input_ids.shape
        self.max_new_tokens.append(max_new_tokens)
        return torch.cat([input_ids[0], self.answers.pop(0)]).unsqueeze(0)


def _tokenizer(tiny_llama_path):
    return load_tokenizer(ResolvedModel(path=str(tiny_llama_path), public_id="tiny"))


def test_perfect_answers_score_one_and_wrong_ones_less(tiny_llama_path, llama_batches):
    # Prepare: the first row answered exactly (case aside), the second with other words
    tok = _tokenizer(tiny_llama_path)
    refs = [
        split_prompt(*(b[k][i] for k in ("input_ids", "attention_mask", "labels")))[1]
        for b in llama_batches
        for i in range(len(b["input_ids"]))
    ]
    shouted = tok(tok.decode(refs[0], skip_special_tokens=True).upper(), add_special_tokens=False)
    wrong = tok("The quick brown fox", add_special_tokens=False)["input_ids"]
    model = _Echo([torch.tensor(shouted["input_ids"]), torch.tensor(wrong)])

    # Execute
    metrics = generation_metrics(
        model,
        llama_batches,
        budget=GenerationBudget(tok, max_rows=2, max_new_tokens=7),
        device="cpu",
    )

    # Assert: two rows scored, within the budget
    assert metrics["generated_rows"] == 2 and model.max_new_tokens == [7, 7]
    assert metrics["exact_match"] == 0.5
    assert 0.5 <= metrics["rouge_l"] < 1.0


def test_evaluate_reports_rouge_l_for_a_real_model_within_budget(
    build_model, llama_batches, tiny_llama_path
):
    model, tok = build_model("llama")
    budget = GenerationBudget(tok, max_rows=3, max_new_tokens=4)

    metrics = evaluate(model, llama_batches, task="instruction", device="cpu", generation=budget)

    assert {"loss", "perplexity", "rouge_l", "exact_match"} <= set(metrics)
    assert metrics["generated_rows"] == 3
    assert 0.0 <= metrics["rouge_l"] <= 1.0 and 0.0 <= metrics["exact_match"] <= 1.0


def test_budget_only_for_instruction_and_when_enabled(tiny_llama_path):
    base = ["data.task=instruction", f"model.path={tiny_llama_path}"]
    assert generation_budget(load_config(None, base), tokenizer=None).max_rows == 32
    off = load_config(None, [*base, "generation_eval.enabled=false"])
    assert generation_budget(off, tokenizer=None) is None
    assert generation_budget(load_config(None, []), tokenizer=None) is None
