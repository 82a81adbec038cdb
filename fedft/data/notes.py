"""What the demo notes share: their labels, how a note's content follows its label (with
noise), and the record a note becomes."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from fedft.data import phrases
from fedft.data.planted import PlantedText

__all__ = [
    "BANKING_LABELS",
    "CLINICAL_LABELS",
    "LABELS",
    "LABEL_NOISE",
    "instruction_record",
    "noisy",
    "pii_field",
    "shared_for",
]

CLINICAL_LABELS: tuple[str, ...] = tuple(phrases.CLINICAL)
BANKING_LABELS: tuple[str, ...] = tuple(phrases.BANKING)
LABELS: Mapping[str, tuple[str, ...]] = {"clinical": CLINICAL_LABELS, "banking": BANKING_LABELS}

# Share of notes whose label is another plausible one (mis-routed referrals and tickets): real
# labels are noisy, and it keeps the demo accuracy ceiling below 100%.
LABEL_NOISE = 0.03


def noisy(rng: random.Random, label: str, labels: Sequence[str]) -> str:
    """`label`, or with probability LABEL_NOISE another of `labels`."""
    if rng.random() < LABEL_NOISE:
        return rng.choice([x for x in labels if x != label])
    return label


def shared_for(rng: random.Random, shared: Sequence[tuple[str, Sequence[str]]], label: str) -> str:
    """A shared phrase, usually one that fits `label`."""
    fitting = [phrase for phrase, labels in shared if label in labels]
    # Now and then a shared phrase that does not fit the label: patients mention other things.
    return rng.choice(fitting if fitting and rng.random() < 0.7 else [p for p, _ in shared])


def pii_field(note: PlantedText) -> list[dict[str, Any]]:
    """A record's `pii` field: {"entity", "value", "start", "end"} per planted value."""
    return [{"entity": p.entity, "value": p.value, "start": p.start, "end": p.end}
            for p in note.planted]  # fmt: skip


def instruction_record(
    rng: random.Random,
    note: PlantedText,
    *,
    questions: Sequence[tuple[str, Sequence[str]]],
    answers: Mapping[str, str],
) -> dict[str, Any]:
    """An instruction record on `note`: one of `questions` (kind, phrasings), answered by
    `answers[kind]`."""
    kind, phrasings = rng.choice(questions)
    return {
        "instruction": rng.choice(phrasings),
        "input": note.text,
        "response": answers[kind],
        "pii": pii_field(note),
    }
