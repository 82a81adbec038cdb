"""The documents of the independent corpus and how they are assembled from parts.

A document is written as a list of parts: plain strings, `Pii` values (planted identifiers,
with a Safe Harbor category and a style tag saying how they were written) and `Keep` terms
(eponyms that an anonymizer must leave alone). `assemble` joins the parts and records where
each value landed, so offsets are right by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CATEGORIES",
    "GROUPS",
    "Doc",
    "Keep",
    "Pii",
    "Planted",
    "assemble",
    "fill",
]

# HIPAA Safe Harbor identifiers as planted here, plus organizations (opt-in in fedft) and
# national identity numbers (GDPR's direct identifiers outside the US).
CATEGORIES = (
    "PERSON",
    "STREET",
    "CITY",
    "POSTAL_CODE",
    "DATE",
    "AGE_OVER_89",
    "PHONE",
    "FAX",
    "EMAIL",
    "SSN",
    "NATIONAL_ID",
    "MRN",
    "HEALTH_PLAN",
    "ACCOUNT",
    "CARD",
    "LICENSE",
    "VEHICLE",
    "DEVICE",
    "URL",
    "IP",
    "OTHER_ID",
    "ORGANIZATION",
)

# Rows of the summary table: the targets are stated for these groups.
GROUPS = {
    "PERSON": ("PERSON",),
    "address parts": ("STREET", "CITY"),
    "postal codes": ("POSTAL_CODE",),
    "structured": ("PHONE", "FAX", "EMAIL", "SSN", "NATIONAL_ID", "ACCOUNT", "CARD", "IP", "URL"),
    "other ids": ("MRN", "HEALTH_PLAN", "LICENSE", "VEHICLE", "DEVICE", "OTHER_ID"),
    "dates, ages": ("DATE", "AGE_OVER_89"),
    "organizations (opt-in)": ("ORGANIZATION",),
}


@dataclass(frozen=True)
class Pii:
    category: str
    value: str
    style: str = ""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"Pii.category: unknown {self.category!r}; one of {CATEGORIES}")
        if not self.value or self.value != self.value.strip():
            raise ValueError(f"Pii.value: empty or padded value {self.value!r}")


@dataclass(frozen=True)
class Keep:
    """A term that must survive; `words` are the parts checked in the output."""

    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Planted:
    category: str
    start: int
    end: int
    value: str
    style: str


@dataclass(frozen=True)
class Doc:
    kind: str
    text: str
    planted: tuple[Planted, ...]
    keep: tuple[Keep, ...]

    @property
    def skeleton(self) -> str:
        """The text with every planted value blanked: what no anonymizer should need to touch."""
        chars = list(self.text)
        for p in self.planted:
            chars[p.start : p.end] = " " * (p.end - p.start)
        return "".join(chars)


Part = str | Pii | Keep


def _flatten(parts: Iterable[object]) -> Iterable[Part]:
    for part in parts:
        if isinstance(part, str | Pii | Keep):
            yield part
        else:
            yield from _flatten(part)  # nested lists, e.g. an address block inside a letter


def assemble(kind: str, parts: Iterable[object]) -> Doc:
    text: list[str] = []
    planted: list[Planted] = []
    keep: list[Keep] = []
    pos = 0
    for part in _flatten(parts):
        if isinstance(part, Pii):
            planted.append(
                Planted(part.category, pos, pos + len(part.value), part.value, part.style)
            )
            chunk = part.value
        elif isinstance(part, Keep):
            keep.append(part)
            chunk = part.text
        else:
            chunk = part
        text.append(chunk)
        pos += len(chunk)
    return Doc(kind=kind, text="".join(text), planted=tuple(planted), keep=tuple(keep))


_SLOT = re.compile(r"\{(\w+)\}")


def fill(template: str, **slots: object) -> list[object]:
    """Split `template` at its {slot}s and put the given parts in their place."""
    pieces = _SLOT.split(template)
    out: list[object] = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            if piece:
                out.append(piece)
        elif piece not in slots:
            raise KeyError(f"fill: slot {{{piece}}} has no value in {template!r}")
        else:
            out.append(slots[piece])
    return out
