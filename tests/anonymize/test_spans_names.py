"""Pure span and name functions (no model)."""

from __future__ import annotations

import pytest

from fedft.anonymize.names.shape import extend_names, propagate_names
from fedft.anonymize.spans import (
    Span,
    allowed_ranges,
    clip_to_line,
    drop_allowed,
    is_date_like,
    merge_spans,
)

STOP = frozenset({"the", "and", "at", "on", "was"})


def test_merge_is_a_union_labelled_by_patterns_first():
    text = "x" * 40
    merged = merge_spans(
        [
            Span("DATE_TIME", 5, 15, 0.85, "SpacyRecognizer"),
            Span("US_SSN", 8, 18, 0.6, "UsSsnRecognizer"),
            Span("PERSON", 30, 35, 0.8, "SpacyRecognizer"),
        ],
        text=text,
    )
    assert [(s.entity, s.start, s.end) for s in merged] == [("US_SSN", 5, 18), ("PERSON", 30, 35)]


def test_merge_joins_names_across_particles():
    text = "Maria de la Cruz came"
    merged = merge_spans([Span("PERSON", 0, 5, 0.8), Span("PERSON", 12, 16, 0.8)], text=text)
    assert [(s.start, s.end) for s in merged] == [(0, 16)]


@pytest.mark.parametrize(
    ("fragment", "is_date"),
    [("03/14/1985", True), ("14.03.1985", True), ("March", True), ("10:30", True),
     ("132/84", False), ("3 days", False), ("twice daily", False), ("3-4", False)],
)  # fmt: skip
def test_is_date_like(fragment, is_date):
    assert is_date_like(fragment) is is_date


def test_allow_list_drops_only_contained_spans():
    text = "Parkinson's disease; Dr. Parkinson called"
    ranges = allowed_ranges(text, ["Parkinson's disease"])
    kept = drop_allowed([Span("PERSON", 0, 9, 0.8), Span("PERSON", 25, 34, 0.8)], ranges)
    assert [(s.start, s.end) for s in kept] == [(25, 34)]


def test_clip_to_line_keeps_the_longest_line():
    text = "Name: John Houghton\nEmail: x"
    span = clip_to_line(Span("PERSON", 6, 25, 0.8), text)
    assert text[span.start : span.end] == "John Houghton"


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("called riccardo de la meijer today", (7, 21), "riccardo de la meijer"),
        ("called sylvie van den eijssel today", (14, 29), "sylvie van den eijssel"),
        ("see Jan van der Berg now", (4, 7), "Jan van der Berg"),
        ("Pacomio, Elvira was here", (9, 15), "Pacomio, Elvira"),
        ("élodie garnierx lives", (0, 6), "élodie garnierx"),
        ("KARL-OTTO CARSTEN called", (5, 17), "KARL-OTTO CARSTEN"),
    ],
)
def test_extend_names(text, span, expected):
    [out] = extend_names(
        text, [Span("PERSON", *span, 0.8)], stop_words=STOP, lexicon=frozenset({"lives"})
    )
    assert text[out.start : out.end] == expected


def test_propagation_finds_other_mentions_any_case():
    text = "Mr. Kowalski called; KOWALSKI and kowalski agreed."
    extra = propagate_names(text, [Span("PERSON", 4, 12, 0.8)], stop_words=STOP)
    assert [text[s.start : s.end] for s in extra] == ["KOWALSKI", "kowalski"]
