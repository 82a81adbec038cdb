"""ROUGE-L and exact match of generated answers on held-out instruction rows.

Perplexity says how likely the reference answers are; these say whether the model, asked the
held-out prompt, answers with them. The budget is bounded (`max_rows` rows, `max_new_tokens`
greedy tokens each), so a round's evaluation costs at most max_rows x max_new_tokens decoding
steps. Prompts and references come from the tokenized held-out batches themselves (labels mark
the response), so they are exactly the token ids perplexity is computed on. Only the two means
leave this module: never a generated text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from fedft.config import Config

__all__ = ["GenerationBudget", "generation_budget", "generation_metrics", "split_prompt"]

IGNORE_INDEX = -100  # label of prompt and padding tokens (fedft.data.tokenize)


@dataclass(frozen=True)
class GenerationBudget:
    tokenizer: Any
    max_rows: int
    max_new_tokens: int


def generation_budget(cfg: Config, *, tokenizer: Any) -> GenerationBudget | None:
    """The configured budget, or None when nothing is to be generated (classification, or
    `generation_eval.enabled: false`)."""
    g = cfg.generation_eval
    if cfg.data.task != "instruction" or not g.enabled:
        return None
    return GenerationBudget(
        tokenizer=tokenizer, max_rows=g.max_rows, max_new_tokens=g.max_new_tokens
    )


def split_prompt(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(prompt ids, reference ids) of one padded row; None when it has no response tokens.

    The response starts at the first real token whose label is not IGNORE_INDEX; padding
    (attention 0) is dropped whichever side it is on.
    """
    real = attention_mask.bool()
    ids, lab = input_ids[real], labels[real]
    answer = (lab != IGNORE_INDEX).nonzero()
    if len(answer) == 0:
        return None
    start = int(answer[0])
    return ids[:start], ids[start:]


def _normalize(text: str) -> str:
    return " ".join(text.casefold().split())


def generation_metrics(
    model: torch.nn.Module,
    loader: Iterable[Mapping[str, Any]],
    *,
    budget: GenerationBudget,
    device: torch.device | str,
) -> dict[str, float]:
    """{"rouge_l": mean ROUGE-L F1 in [0, 1], "exact_match": share of answers equal to the
    reference after case and whitespace folding, "generated_rows": rows scored}.

    Greedy decoding of at most `budget.max_new_tokens` tokens for each of the first
    `budget.max_rows` rows with a response. ROUGE-L is rouge-score's (no stemming).
    """
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    tok = budget.tokenizer
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    rouge, exact, rows = 0.0, 0, 0
    model.eval()
    with torch.inference_mode():
        for batch in loader:
            for i in range(len(batch["input_ids"])):
                if rows >= budget.max_rows:
                    break
                split = split_prompt(
                    batch["input_ids"][i], batch["attention_mask"][i], batch["labels"][i]
                )
                if split is None:
                    continue
                prompt, reference_ids = split
                out = model.generate(
                    input_ids=prompt.unsqueeze(0).to(device),
                    attention_mask=torch.ones(1, len(prompt), dtype=torch.long, device=device),
                    max_new_tokens=budget.max_new_tokens,
                    do_sample=False,
                    pad_token_id=pad_id,
                )
                answer = tok.decode(out[0, len(prompt) :], skip_special_tokens=True)
                reference = tok.decode(reference_ids, skip_special_tokens=True)
                rouge += scorer.score(reference, answer)["rougeL"].fmeasure
                exact += int(_normalize(answer) == _normalize(reference))
                rows += 1
            if rows >= budget.max_rows:
                break
    if rows == 0:
        return {}
    return {"rouge_l": rouge / rows, "exact_match": exact / rows, "generated_rows": float(rows)}
