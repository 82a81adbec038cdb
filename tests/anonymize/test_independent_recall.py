"""Recall on the independent corpus (issue 19): text the recognizers were not written against.

The first 200 documents of tests/fedft_eval/independent (seed 19), anonymized with the default
policy and scored by its scorer (a value is leaked when its text, a name part of 2+ letters or
a 4+-digit run survives in the output; rows dropped by the residual scan leak nothing).
Thresholds sit just below what the default policy measured on this sample when the corpus was
written, so a regression fails; they are not targets and are only ever raised. The issue's
targets (independent corpus, default policy): PERSON >= 0.97, address parts >= 0.95, postal
codes >= 0.98, structured identifiers 1.000, precision >= 0.95, eponym survival >= 0.95. The
issue names no number for the other Safe Harbor rows (other ids, dates, ages over 89), which
Safe Harbor requires removed all the same; organizations are opt-in and off by default.

Default policy on the sample, when the corpus was written (bench/bench_anonymize_independent.py
prints the full 1,500-document table, with the clinical policy and vanilla Presidio):

| group / category | n | today | floor | issue target | |
|---|---:|---:|---:|---:|---|
| **PERSON** | 699 | 0.871 | 0.87 | 0.97 | BELOW TARGET |
| **address parts** | 233 | 0.674 | 0.67 | 0.95 | BELOW TARGET |
| **postal codes** | 139 | 0.288 | 0.28 | 0.98 | BELOW TARGET |
| **structured** | 280 | 0.968 | 0.96 | 1.00 | BELOW TARGET |
| **other ids** | 164 | 0.652 | 0.65 | — |  |
| **dates, ages** | 197 | 0.863 | 0.86 | — |  |
| **organizations (opt-in)** | 86 | 0.477 | 0.47 | — |  |
| STREET | 109 | 0.771 | 0.77 | | |
| CITY | 124 | 0.589 | 0.58 | | |
| POSTAL_CODE | 139 | 0.288 | 0.28 | | |
| DATE | 166 | 1.000 | 1.00 | | |
| AGE_OVER_89 | 31 | 0.129 | 0.12 | | |
| PHONE | 77 | 0.935 | 0.93 | | |
| FAX | 23 | 1.000 | 1.00 | | |
| EMAIL | 42 | 1.000 | 1.00 | | |
| SSN | 15 | 1.000 | 1.00 | | |
| NATIONAL_ID | 7 | 0.571 | 0.57 | | |
| MRN | 24 | 0.792 | 0.79 | | |
| HEALTH_PLAN | 16 | 0.750 | 0.75 | | |
| ACCOUNT | 45 | 1.000 | 1.00 | | |
| CARD | 23 | 1.000 | 1.00 | | |
| LICENSE | 20 | 0.900 | 0.90 | | |
| VEHICLE | 10 | 0.100 | 0.10 | | |
| DEVICE | 31 | 0.387 | 0.38 | | |
| URL | 20 | 0.950 | 0.95 | | |
| IP | 28 | 1.000 | 1.00 | | |
| OTHER_ID | 63 | 0.714 | 0.71 | | |
| ORGANIZATION | 86 | 0.477 | 0.47 | | |
| precision (letters, digits) | | 0.917 | 0.91 | 0.95 | BELOW TARGET |
| eponym survival | 63 | 0.603 | 0.60 | 0.95 | BELOW TARGET |
| rows dropped (residual scan) | 200 | 20 | <= 20 | | |
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from fedft_eval.independent.corpus import CATEGORIES, GROUPS
from fedft_eval.independent.generate import generate
from fedft_eval.independent.places import COUNTRIES
from fedft_eval.independent.score import replaced_ranges, score

SAMPLE = 200

# Measured on the sample with the default policy after issue 19's recognizers (recognizers written
# without sight of this corpus); floor to 2 decimals, a point or two below what was measured.
# Never lower these (one documented exception: ORGANIZATION).
FLOORS = {
    "PERSON": 0.98,
    "address parts": 0.98,
    "postal codes": 0.96,
    "structured": 1.00,  # the target, met on the sample since the LinkedIn rule
    "other ids": 0.98,
    "dates, ages": 0.98,
    # Lowered once (0.51 -> 0.46) by the address / postcode / number work of #19: the four
    # organizations it "lost" on the sample all sat in rows the residual scan used to drop
    # whole because an address or number survived the first pass; those rows now stay, and
    # organizations are opt-in (off in the default policy). Not a detection change.
    "organizations (opt-in)": 0.46,
    "STREET": 0.98,
    "CITY": 0.97,
    "POSTAL_CODE": 0.96,
    "DATE": 1.00,
    "AGE_OVER_89": 0.96,
    "PHONE": 1.00,
    "FAX": 1.00,
    "EMAIL": 1.00,
    "SSN": 1.00,
    "NATIONAL_ID": 0.98,
    "MRN": 0.98,
    "HEALTH_PLAN": 0.98,
    "ACCOUNT": 1.00,
    "CARD": 1.00,
    "LICENSE": 1.00,
    "VEHICLE": 0.98,
    "DEVICE": 0.98,
    "URL": 1.00,
    "IP": 1.00,
    "OTHER_ID": 0.98,
    "ORGANIZATION": 0.46,  # see "organizations (opt-in)"
}
# The docstring table above is the pre-#19 baseline; these floors are after it.
PRECISION_FLOOR = 0.95  # the target (sample: 0.951)
EPONYM_FLOOR = 0.95  # the target (sample: 1.000)
# 20 before the new recognizers, 23 after the first ones; fewer once address blocks,
# postcodes, reference numbers and names in free context are caught in the first pass
# (the residual scan finds less to drop rows for).
MAX_DROPPED_ROWS = 17


@pytest.fixture(scope="module")
def sample():
    return generate(SAMPLE)


@pytest.fixture(scope="module")
def measured(sample, default_anonymizer):
    result = default_anonymizer.anonymize_texts([d.text for d in sample])
    outputs = [t if kept else "" for t, kept in zip(result.texts, result.kept, strict=True)]
    return score(sample, outputs)


def test_corpus_is_the_same_every_time_and_every_size(sample):
    again = generate(SAMPLE)
    assert [d.text for d in again] == [d.text for d in sample]
    assert [d.text for d in generate(20)] == [d.text for d in sample[:20]]


def _digest(docs) -> str:
    return hashlib.sha256("\x00".join(d.text for d in docs).encode()).hexdigest()


def test_corpus_does_not_depend_on_hash_seed(sample):
    """Faker draws some values from sets; the corpus must not vary with PYTHONHASHSEED."""
    code = (
        "import hashlib; from fedft_eval.independent.generate import generate; "
        f"docs = generate({SAMPLE}); "
        "print(hashlib.sha256('\\x00'.join(d.text for d in docs).encode()).hexdigest())"
    )
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": tests_dir}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == _digest(sample)


def test_planted_offsets_and_coverage(sample):
    for doc in sample:
        for p in doc.planted:
            assert doc.text[p.start : p.end] == p.value
    planted = {p.category for d in sample for p in d.planted}
    assert planted == set(CATEGORIES)
    assert sum(len(d.keep) for d in sample) >= 40
    assert len(COUNTRIES) >= 8


def test_scorer_extremes(sample):
    """Identity leaks everything; replacing exactly the planted values leaks nothing."""

    def perfect(doc):
        out, pos = [], 0
        for p in doc.planted:
            out += [doc.text[pos : p.start], f"<{p.category}>"]
            pos = p.end
        return "".join(out) + doc.text[pos:]

    docs = sample[:60]
    ideal = score(docs, [perfect(d) for d in docs])
    assert all(ideal.recall(c) == 1.0 for c in ideal.planted)
    assert ideal.precision == 1.0 and ideal.eponym_survival == 1.0
    leaky = score(docs, [d.text for d in docs])
    assert all(leaky.recall(c) == 0.0 for c in leaky.planted)
    assert replaced_ranges("Call Ann Lee today", "Call <PERSON> today") == [(5, 12)]


def test_default_policy_does_not_regress(measured):
    low = {
        name: round(measured.recall(*cats), 4)
        for name, cats in {**GROUPS, **{c: (c,) for c in CATEGORIES}}.items()
        if measured.recall(*cats) < FLOORS[name]
    }
    assert not low, f"recall fell below today's floors: {low} (floors {FLOORS})"
    assert measured.precision >= PRECISION_FLOOR
    assert measured.eponym_survival >= EPONYM_FLOOR
    assert measured.dropped_rows <= MAX_DROPPED_ROWS
