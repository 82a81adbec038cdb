"""The demo corpora's labels, and how a note's content follows its label (with noise)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from fedft.data import phrases

__all__ = ["BANKING_LABELS", "CLINICAL_LABELS", "LABELS", "LABEL_NOISE", "noisy", "shared_for"]

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
