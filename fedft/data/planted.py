"""Planted identifiers for synthetic corpora: seeded Faker instances, the identifier pieces
corpora draw on, and text that records where every planted value lies.

One piece for both planted-PII corpora: the demo corpora (synthetic.py, realistic formats)
and the evaluation corpus in tests/fedft_eval (hard formats, to measure recall). Each keeps
its own choice of formats; what they share is here. Randomness is explicit: every function
takes the `random.Random` (or the seeded Faker) it draws from.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from faker import Faker

__all__ = [
    "IBAN_LOCALES",
    "Planted",
    "PlantedText",
    "card_number",
    "group4",
    "iban",
    "record_digits",
    "seeded_fakers",
    "template_parts",
]

IBAN_LOCALES = ("de_DE", "nl_NL", "en_GB", "fr_FR", "es_ES")
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Planted:
    """One planted value: its entity label, its [start, end) span in the text (so
    `text[start:end] == value`) and, where a corpus records it, its format style."""

    entity: str
    value: str
    start: int
    end: int
    style: str = ""


class PlantedText:
    """Text under construction; each planted value's span is recorded as it is appended."""

    def __init__(self) -> None:
        self.text = ""
        self.planted: list[Planted] = []

    def add(self, piece: str) -> None:
        self.text += piece

    def plant(
        self, entity: str, rendered: str, *, core: str | None = None, style: str = ""
    ) -> None:
        """Append `rendered`; the planted value is its identifying part `core` (all of it by
        default): "1234567" in "MRN-1234567", since a decoration identifies no one."""
        offset = rendered.index(core) if core else 0
        value = core or rendered
        start = len(self.text) + offset
        self.text += rendered
        self.planted.append(Planted(entity, value, start, start + len(value), style))

    def fill(self, template: str, values: Mapping[str, tuple[str, str, str | None]]) -> None:
        """Append `template`, each {slot} planted from `values[slot]` = (entity, rendered,
        core)."""
        for literal, slot in template_parts(template):
            self.add(literal)
            if slot is not None:
                entity, rendered, core = values[slot]
                self.plant(entity, rendered, core=core)


def template_parts(template: str) -> Iterator[tuple[str, str | None]]:
    """(literal text, slot name) pairs of a "{slot}" template, in order; the last pair holds
    the text after the last slot and no slot (None)."""
    pos = 0
    for m in _SLOT.finditer(template):
        yield template[pos : m.start()], m.group(1)
        pos = m.end()
    yield template[pos:], None


def seeded_fakers(locales: Sequence[str], *, seed: int) -> dict[str, Faker]:
    """One Faker per locale, the i-th (in the order given) seeded with `seed + i`."""
    fakers = {loc: Faker(loc) for loc in locales}
    for i, faker in enumerate(fakers.values()):
        faker.seed_instance(seed + i)
        # Faker's it_IT city list is built from a set, so its order (and the city a seed
        # picks) changed with PYTHONHASHSEED; sorted, every process gets the same corpus.
        for provider in faker.providers:
            cities = getattr(provider, "cities", None)
            if isinstance(cities, list):
                provider.cities = sorted(cities)
    return fakers


def group4(code: str) -> str:
    """`code` in space-separated groups of four, as cards and IBANs are written."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def iban(rng: random.Random, fakers: Mapping[str, Faker]) -> str:
    """A valid compact IBAN of a European locale (`fakers` must hold `IBAN_LOCALES`)."""
    return fakers[rng.choice(IBAN_LOCALES)].iban()


def card_number(rng: random.Random, faker: Faker, *, types: Sequence[str]) -> str:
    """A Luhn-valid card number (digits only) of one of Faker's card `types`."""
    return faker.credit_card_number(card_type=rng.choice(types))


def record_digits(rng: random.Random) -> str:
    """Seven digits, as hospitals number their medical records."""
    return f"{rng.randint(0, 9_999_999):07d}"
