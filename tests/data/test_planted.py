"""The planted-PII pieces both corpora share: spans exact, templates split, Fakers seeded."""

from __future__ import annotations

import random

import pytest

from fedft.data.planted import (
    Planted,
    PlantedText,
    card_number,
    group4,
    iban,
    seeded_fakers,
    template_parts,
)


def test_planted_spans_point_at_the_core_value():
    # Prepare
    note = PlantedText()
    # Execute
    note.fill(
        "Seen {name} ({mrn}).",
        {"name": ("PERSON", "Jan de Vries", None), "mrn": ("MRN", "MRN-0012345", "0012345")},
    )
    # Assert
    assert note.text == "Seen Jan de Vries (MRN-0012345)."
    assert note.planted == [
        Planted("PERSON", "Jan de Vries", 5, 17),
        Planted("MRN", "0012345", 23, 30),
    ]
    assert all(note.text[p.start : p.end] == p.value for p in note.planted)


@pytest.mark.parametrize(
    ("template", "parts"),
    [
        ("a {x} b {y}", [("a ", "x"), (" b ", "y"), ("", None)]),
        ("no slot", [("no slot", None)]),
    ],
)
def test_template_parts(template, parts):
    assert list(template_parts(template)) == parts


def test_seeded_fakers_repeat_and_identifiers_are_valid():
    one, two = (seeded_fakers(("en_US", "de_DE", "nl_NL", "en_GB", "fr_FR", "es_ES"), seed=7)
                for _ in range(2))  # fmt: skip
    assert one["en_US"].name() == two["en_US"].name()
    code = iban(random.Random(1), one)
    assert code.isalnum() and int("".join(str(int(c, 36)) for c in code[4:] + code[:4])) % 97 == 1
    number = card_number(random.Random(1), one["en_US"], types=("visa16",))
    assert len(number) == 16 and group4(number).count(" ") == 3
