"""A classification head that starts from the label names: a zero-shot prototype classifier.

A sentence-embedding base (all-MiniLM-L6-v2, read with mean pooling) places a text near the
names of what it is about. Setting row k of the head to the normalised embedding of label k's
name (optionally inside a template such as "a clinical note about {label}"), times a scale,
with bias 0, makes the untrained model a nearest-prototype classifier by cosine similarity.
The label names are public by construction (every party needs them to build the same head:
`data.labels`, the data schema), so this start costs no privacy budget.

Why it matters under DP-SGD: a random head starts at chance and, at a fixed ε, every step it
needs to get somewhere spends noise; the head-only emulation showed full-batch GD topping out
at 75–82 % from a random start in any round budget a consortium pays for
(bench/bench_dp_head_emulation.py). Starting from the prototypes, training only has to correct
them. The head is initialised before LoRA is attached, so peft's trainable copy
(`modules_to_save`) starts from it, it travels and is exported like any trained head, and a
plain `PeftModel.from_pretrained` load is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__ = [
    "HEAD_INIT_SCALE",
    "has_encoder",
    "init_head_from_label_names",
    "label_texts",
    "names_say_something",
    "pooled_embeddings",
]

# Logits are scale × cosine similarity: a prior the data must be able to overrule. The names
# alone classify 58–62 % of the default task's notes; one full-batch step from a random head
# already points the rows at the classes' data means, which beats that. In the head-only
# emulation (6 rounds, 3 corpus seeds) scale 1–2 gained ~2 points over a random head, at ε = 8
# and without noise, while 4 broke even and 10–40 lost 4–10 (the data needs many steps to undo
# a confident wrong prior, e.g. pulmonology notes that sit nearer the word "cardiology").
HEAD_INIT_SCALE = 2.0


def names_say_something(labels: Sequence[str] | None) -> bool:
    """Labels that are words, not numbers: what a head from their names needs."""
    return bool(labels) and not all(str(label).strip().lstrip("-").isdigit() for label in labels)


def has_encoder(model: Any) -> bool:
    """A BERT-like classifier, whose encoder `pooled_embeddings` reads."""
    return getattr(model, getattr(model, "base_model_prefix", ""), None) is not None


def label_texts(labels: Sequence[str], *, template: str) -> list[str]:
    """The texts whose embeddings become the head's rows, one per label, in label order."""
    if "{label}" not in template:
        raise ValueError(
            f"model.label_template {template!r} has no '{{label}}' placeholder; write e.g. "
            "'a clinical note about {label}'"
        )
    if not names_say_something(labels):
        raise ValueError(
            f"model.head_init 'label_names' needs label names, got {list(labels)!r}: numbers or "
            "nothing say nothing about the classes; list named classes in data.labels, or use "
            "model.head_init 'random'"
        )
    return [template.format(label=str(label).replace("_", " ")) for label in labels]


def pooled_embeddings(model: Any, tokenizer: Any, texts: Sequence[str]) -> torch.Tensor:
    """What the classification head reads for each text: the encoder's pooled output.

    `model` is a BERT-like sequence classifier before LoRA is attached; with mean pooling
    (`fedft.model.pooling`) the output is the normalised mean embedding.
    """
    if not has_encoder(model):
        raise ValueError(
            f"model.head_init 'label_names' needs a BERT-like encoder; {type(model).__name__} has "
            "none. Use model.head_init 'random'"
        )
    encoder = getattr(model, model.base_model_prefix)
    device = next(model.parameters()).device
    batch = tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt").to(device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    finally:
        model.train(was_training)
    if out.pooler_output is None:
        raise ValueError(
            f"{type(model).__name__}'s encoder has no pooled output for the head to read; use "
            "model.head_init 'random'"
        )
    return out.pooler_output.detach().clone()


def init_head_from_label_names(
    model: Any,
    tokenizer: Any,
    *,
    labels: Sequence[str],
    template: str,
    scale: float = HEAD_INIT_SCALE,
) -> None:
    """Set the head (`model.classifier`, one Linear on the pooled output) to scale × the
    normalised label-name embeddings, bias 0. In place; call it before `attach_lora`."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear):
        raise ValueError(
            f"model.head_init 'label_names' needs a head that is one linear layer on the pooled "
            f"embedding (BERT-like 'classifier'); {type(model).__name__} has "
            f"{type(head).__name__}. Use model.head_init 'random'"
        )
    if head.out_features != len(labels):
        raise ValueError(f"the head has {head.out_features} outputs for {len(labels)} labels")
    emb = pooled_embeddings(model, tokenizer, label_texts(labels, template=template))
    rows = torch.nn.functional.normalize(emb.to(head.weight.dtype), dim=-1)
    with torch.no_grad():
        head.weight.copy_(scale * rows)
        if head.bias is not None:
            head.bias.zero_()
