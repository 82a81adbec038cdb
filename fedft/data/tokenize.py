"""Turn validated rows into model inputs: classification ids/labels, or causal-LM SFT examples.

Sequences are left unpadded; `make_collator` pads each batch to its longest member (dynamic
padding), which on CPU is much cheaper than padding everything to max_length.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import datasets
import torch

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label value the loss skips (torch CrossEntropyLoss ignore_index)

# The prompt template; the input block is left out when the input is empty.
INSTRUCTION_HEADER = "### Instruction:\n"
INPUT_HEADER = "\n\n### Input:\n"
RESPONSE_HEADER = "\n\n### Response:\n"

_IDS = datasets.List(datasets.Value("int64"))


def format_prompt(*, instruction: str, input: str = "") -> str:  # noqa: A002 - the column name
    """The prompt text a model sees before its response (for generation and inspection)."""
    middle = f"{INPUT_HEADER}{input}" if input else ""
    return f"{INSTRUCTION_HEADER}{instruction}{middle}{RESPONSE_HEADER}"


def tokenize_classification(
    ds: datasets.Dataset, tokenizer: Any, *, max_length: int, label2id: Mapping[str, int]
) -> datasets.Dataset:
    """Columns input_ids, attention_mask, labels (int), torch format; text cut at max_length."""
    _check_max_length(max_length)
    labels = [str(x) for x in ds["label"]]
    unknown = sorted(set(labels) - set(label2id))
    if unknown:
        raise ValueError(
            f"labels {unknown[:5]} are not in label2id ({', '.join(label2id)}); give the full "
            "label set (data.labels) so every site maps labels to the same ids"
        )
    enc = tokenizer(list(ds["text"]), truncation=True, max_length=max_length)
    out = datasets.Dataset.from_dict(
        {
            "input_ids": enc["input_ids"],
            "attention_mask": enc["attention_mask"],
            "labels": [label2id[x] for x in labels],
        },
        features=datasets.Features(
            {"input_ids": _IDS, "attention_mask": _IDS, "labels": datasets.Value("int64")}
        ),
    )
    return out.with_format("torch")


def tokenize_instruction(
    ds: datasets.Dataset, tokenizer: Any, *, max_length: int
) -> datasets.Dataset:
    """Causal-LM SFT examples: prompt + response + end token, loss on the response only.

    `labels` equals `input_ids` with IGNORE_INDEX on the prompt (and on the tokenizer's leading
    special tokens). A prompt too long for max_length loses the end of its input first, then
    the end of its instruction; the template markers always stay, so the model still sees
    where the response starts. Examples whose response (plus markers) cannot fit are dropped
    and counted in the log. The pieces are tokenized separately, so evaluation must use this
    function too (not a re-tokenized `format_prompt`) to see exactly the trained token ids.
    """
    _check_max_length(max_length)
    end_id = end_token_id(tokenizer)
    prefix = _leading_special_ids(tokenizer)

    def encode(texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    instructions, inputs, responses = (list(ds[c]) for c in ("instruction", "input", "response"))
    instr_ids, input_ids, resp_ids = encode(instructions), encode(inputs), encode(responses)
    head, mid, tail = encode([INSTRUCTION_HEADER, INPUT_HEADER, RESPONSE_HEADER])

    rows: dict[str, list[list[int]]] = {"input_ids": [], "attention_mask": [], "labels": []}
    dropped = 0
    for k in range(len(ds)):
        answer = resp_ids[k] + [end_id]
        has_input = bool(inputs[k])
        fixed = len(prefix) + len(head) + (len(mid) if has_input else 0) + len(tail) + len(answer)
        room = max_length - fixed
        if room < 0:
            dropped += 1
            continue
        instr = instr_ids[k][: max(room, 0)]
        inp = input_ids[k][: max(room - len(instr), 0)] if has_input else []
        prompt = prefix + head + instr + ((mid + inp) if has_input else []) + tail
        ids = prompt + answer
        rows["input_ids"].append(ids)
        rows["attention_mask"].append([1] * len(ids))
        rows["labels"].append([IGNORE_INDEX] * len(prompt) + answer)
    if dropped:
        log.warning(
            "dropped %d of %d instruction examples: the response does not fit in max_length=%d",
            dropped, len(ds), max_length,
        )  # fmt: skip
    if len(ds) and not rows["input_ids"]:
        raise ValueError(
            f"no instruction example fits in max_length={max_length} tokens (responses are never "
            "truncated); raise data.max_length or shorten the responses"
        )
    out = datasets.Dataset.from_dict(
        rows,
        features=datasets.Features({"input_ids": _IDS, "attention_mask": _IDS, "labels": _IDS}),
    )
    return out.with_format("torch")


def end_token_id(tokenizer: Any) -> int:
    """The token that ends a response: eos, or [SEP] for BERT-style tokenizers without eos."""
    for name in ("eos_token_id", "sep_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    raise ValueError(
        f"tokenizer {type(tokenizer).__name__} has neither an eos nor a sep token, so a response "
        "cannot be terminated; use a causal LM tokenizer with an eos token"
    )


def pad_token_id(tokenizer: Any) -> int:
    """The pad id; tokenizers without one (Llama) pad with their end token (masked anyway)."""
    value = getattr(tokenizer, "pad_token_id", None)
    return int(value) if value is not None else end_token_id(tokenizer)


def _leading_special_ids(tokenizer: Any) -> list[int]:
    """Special tokens the tokenizer puts before text ([CLS], <s>, or none for GPT-2)."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return list(full[:start])
    return []


def _check_max_length(max_length: int) -> None:
    if max_length < 8:
        raise ValueError(f"max_length must be >= 8 tokens, got {max_length}")


@dataclass(frozen=True)
class PaddingCollator:
    """Pads a list of examples to the batch's longest sequence and stacks them as tensors.

    input_ids get `pad_id`, attention_mask 0, sequence labels IGNORE_INDEX (so padding never
    counts in the loss); scalar labels (classification) are stacked as they are.
    """

    pad_id: int
    padding_side: Literal["right", "left"] = "right"

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if not examples:
            raise ValueError("cannot collate an empty batch")
        seqs = {k: [torch.as_tensor(e[k]) for e in examples] for k in examples[0]}
        width = max(len(s) for s in seqs["input_ids"])
        fill = {"input_ids": self.pad_id, "attention_mask": 0, "labels": IGNORE_INDEX}
        batch = {}
        for key, values in seqs.items():
            if values[0].dim() == 0:
                batch[key] = torch.stack(values)
                continue
            padded = torch.full((len(values), width), fill.get(key, 0), dtype=values[0].dtype)
            for row, v in enumerate(values):
                if self.padding_side == "right":
                    padded[row, : len(v)] = v
                else:
                    padded[row, width - len(v) :] = v
            batch[key] = padded
        return batch


def make_collator(
    task: Literal["classification", "instruction"], tokenizer: Any
) -> Callable[..., dict[str, torch.Tensor]]:
    """A DataLoader collate_fn for the output of tokenize_classification / tokenize_instruction.

    The tokenizer is only read (pad id, padding side), never changed.
    """
    if task not in ("classification", "instruction"):
        raise ValueError(f"task must be 'classification' or 'instruction', got {task!r}")
    side = getattr(tokenizer, "padding_side", "right")
    return PaddingCollator(
        pad_id=pad_token_id(tokenizer), padding_side="left" if side == "left" else "right"
    )
