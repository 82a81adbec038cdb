"""Seeded synthetic demo corpora (clinical notes, bank service notes) with planted PII.

Records are deterministic for a seed. Every planted identifier is listed in the record's `pii`
field as {"entity", "value", "start", "end"} with `text[start:end] == value` (for instruction
records the span refers to `input`), so anonymization recall can be measured exactly. For
identifiers written with a decoration ("MRN-1234567", "acct 12345678") the value is the
identifying digits; the decoration is not identifying.

Labels are carried by clinical (or banking) content drawn from several varied phrase pools, with
phrases shared between labels and other labels' vocabulary in the past history (see phrases.py),
so a classifier has something to learn and does not reach 100% from one keyword.

Modules: notes.py (labels, label noise, the record a note becomes), demo_pii.py (the planted
identifiers, on the pieces in planted.py that the evaluation corpus shares), clinical_notes.py
and banking_notes.py (the notes), phrases.py (their content).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from fedft.data.banking_notes import banking_instruction, banking_note
from fedft.data.clinical_notes import clinical_instruction, clinical_note
from fedft.data.demo_pii import DemoPii
from fedft.data.notes import LABELS

__all__ = ["Kind", "Task", "generate_corpus", "write_jsonl"]

Kind = Literal["clinical", "banking"]
Task = Literal["classification", "instruction"]


def generate_corpus(
    *, kind: Kind, n: int, seed: int, task: Task = "classification"
) -> list[dict[str, Any]]:
    """`n` records, balanced over the labels, in a seeded random order.

    classification: {"text", "label", "pii"}; instruction: {"instruction", "input", "response",
    "pii"} with short notes (~150-250 characters) so prompts fit 128 tokens.
    """
    if kind not in LABELS:
        raise ValueError(f"kind must be 'clinical' or 'banking', got {kind!r}")
    if task not in ("classification", "instruction"):
        raise ValueError(f"task must be 'classification' or 'instruction', got {task!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = random.Random(seed)
    pii = DemoPii(rng, seed)
    labels = LABELS[kind]
    order = [labels[i % len(labels)] for i in range(n)]
    rng.shuffle(order)
    make = {
        ("clinical", "classification"): clinical_note,
        ("banking", "classification"): banking_note,
        ("clinical", "instruction"): clinical_instruction,
        ("banking", "instruction"): banking_instruction,
    }[(kind, task)]
    return [make(rng, pii, label) for label in order]


def write_jsonl(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write one JSON object per line (UTF-8, non-ASCII kept as is); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return out
