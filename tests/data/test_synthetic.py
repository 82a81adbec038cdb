"""Synthetic corpora: deterministic, balanced, PII planted verbatim, labels not one keyword."""

from __future__ import annotations

import collections
import functools
import re

import pytest

from fedft.data.notes import BANKING_LABELS, CLINICAL_LABELS
from fedft.data.sources import read_examples
from fedft.data.synthetic import generate_corpus, write_jsonl

KINDS_TASKS = [(k, t) for k in ("clinical", "banking") for t in ("classification", "instruction")]
CLINICAL_ALWAYS = {
    "PERSON",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "DATE_TIME",
    "US_SSN",
    "MEDICAL_RECORD_NUMBER",
}
BANKING_IDS = {"PHONE_NUMBER", "EMAIL_ADDRESS", "IBAN_CODE", "CREDIT_CARD", "ACCOUNT_NUMBER"}


@functools.cache
def _corpus(
    kind: str, task: str = "classification", n: int = 300, seed: int = 0
) -> tuple[dict, ...]:
    """Shared across tests (read-only): generating is the slow part of this file."""
    return tuple(generate_corpus(kind=kind, n=n, seed=seed, task=task))


def _text(record: dict) -> str:
    return record["text"] if "text" in record else record["input"]


@pytest.mark.parametrize(("kind", "task"), KINDS_TASKS)
def test_same_seed_same_corpus_other_seed_other_corpus(kind, task):
    # Execute
    a = generate_corpus(kind=kind, n=40, seed=7, task=task)
    b = generate_corpus(kind=kind, n=40, seed=7, task=task)
    c = generate_corpus(kind=kind, n=40, seed=8, task=task)

    # Assert
    assert a == b
    assert [_text(r) for r in a] != [_text(r) for r in c]


@pytest.mark.parametrize(("kind", "task"), KINDS_TASKS)
def test_planted_pii_appears_verbatim_at_its_span(kind, task):
    # Execute
    records = _corpus(kind, task)

    # Assert
    for r in records:
        assert r["pii"], "every record carries PII"
        for p in r["pii"]:
            assert set(p) == {"entity", "value", "start", "end"}
            assert _text(r)[p["start"] : p["end"]] == p["value"]


def test_clinical_notes_carry_every_identifier_kind():
    # Execute
    records = _corpus("clinical")

    # Assert
    for r in records:
        assert CLINICAL_ALWAYS <= {p["entity"] for p in r["pii"]}
    with_address = sum(any(p["entity"] == "LOCATION" for p in r["pii"]) for r in records)
    assert 0.15 * len(records) < with_address < 0.5 * len(records)  # "sometimes an address"
    mrn_forms = {
        re.sub(r"\d", "9", t)
        for r in records
        for t in re.findall(r"(?i)(?:MRN|med rec no\.)[-:# ]*\d+", r["text"])
    }
    assert {"MRN-9999999", "MRN: 9999999", "mrn9999999"} <= mrn_forms


def test_banking_notes_carry_financial_identifiers():
    # Execute
    records = _corpus("banking")

    # Assert
    seen = collections.Counter(p["entity"] for r in records for p in r["pii"])
    assert BANKING_IDS <= set(seen)
    for r in records:
        entities = {p["entity"] for p in r["pii"]}
        assert "PERSON" in entities and len(entities & BANKING_IDS) >= 2


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in re.sub(r"\D", "", number)][::-1]
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
    )
    return total % 10 == 0


@pytest.mark.parametrize(
    ("entity", "valid"),
    [
        (
            "CREDIT_CARD",
            _luhn_ok,
        ),  # recognizers check the Luhn digit; fake-looking numbers would not count
        (
            "US_SSN",
            lambda v: (
                re.fullmatch(r"\d{3}[- ]\d{2}[- ]\d{4}", v)
                and not v.startswith(("000", "666", "9"))
            ),
        ),
        ("IBAN_CODE", lambda v: re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9 ]{10,40}", v)),
        ("EMAIL_ADDRESS", lambda v: re.fullmatch(r"[a-z0-9.]+@[a-z0-9.-]+\.[a-z]+", v)),
        ("PHONE_NUMBER", lambda v: len(re.sub(r"\D", "", v)) in (10, 11)),
    ],
)
def test_identifiers_are_realistic(entity, valid):
    # Execute
    values = [
        p["value"]
        for kind in ("clinical", "banking")
        for r in _corpus(kind)
        for p in r["pii"]
        if p["entity"] == entity
    ]

    # Assert
    assert values
    assert all(valid(v) for v in values), [v for v in values if not valid(v)][:3]


@pytest.mark.parametrize(
    ("kind", "labels"), [("clinical", CLINICAL_LABELS), ("banking", BANKING_LABELS)]
)
def test_classification_labels_are_balanced_and_notes_short(kind, labels):
    # Execute
    records = _corpus(kind, n=500)

    # Assert
    counts = collections.Counter(r["label"] for r in records)
    assert set(counts) == set(labels) and len(labels) == 5
    assert all(80 <= c <= 120 for c in counts.values()), counts  # 100 each, up to 3% relabelled
    lengths = sorted(len(r["text"]) for r in records)
    assert 120 <= lengths[0] and lengths[len(lengths) // 2] <= 400 and lengths[-1] <= 520


@pytest.mark.parametrize("kind", ["clinical", "banking"])
def test_no_single_word_gives_the_label_away(kind):
    # Prepare
    records = _corpus(kind, n=500)
    words = [set(re.findall(r"[a-z][a-z-]+", r["text"].lower())) for r in records]

    # Execute: the best one-keyword rule "word present -> label" per label, scored by F1.
    best = {}
    for label in {r["label"] for r in records}:
        positives = {i for i, r in enumerate(records) if r["label"] == label}
        containing = collections.defaultdict(set)
        for i, ws in enumerate(words):
            for w in ws:
                containing[w].add(i)
        best[label] = max(
            2 * len(s & positives) / (len(s) + len(positives)) for s in containing.values()
        )

    # Assert
    assert max(best.values()) < 0.7, best  # measured: at most 0.61 ("rate" for mortgage)


@pytest.mark.parametrize("kind", ["clinical", "banking"])
def test_instruction_records_are_short_and_answerable(kind):
    # Execute
    records = _corpus(kind, "instruction")

    # Assert
    labels = set(CLINICAL_LABELS if kind == "clinical" else BANKING_LABELS)
    for r in records:
        assert set(r) == {"instruction", "input", "response", "pii"}
        assert len(r["input"]) <= 260 and 0 < len(r["response"]) <= 60
        assert r["response"] in labels or r["response"] in r["input"]
        assert not any(p["value"] in r["response"] for p in r["pii"])
    assert len({r["instruction"] for r in records}) >= 4


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"kind": "legal", "n": 5, "seed": 0}, "kind must be"),
        ({"kind": "clinical", "n": 0, "seed": 0}, "n must be >= 1"),
        ({"kind": "clinical", "n": 5, "seed": 0, "task": "qa"}, "task must be"),
    ],
)
def test_invalid_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        generate_corpus(**kwargs)


@pytest.mark.parametrize("task", ["classification", "instruction"])
def test_written_jsonl_reads_back_without_bad_rows(tmp_path, task):
    # Prepare
    records = generate_corpus(kind="clinical", n=30, seed=1, task=task)

    # Execute
    path = write_jsonl(records, tmp_path / "sub" / "notes.jsonl")
    loaded = read_examples(path, task=task)

    # Assert
    assert loaded.bad_rows == () and len(loaded.dataset) == 30
    assert path.read_text(encoding="utf-8").count("\n") == 30
    if task == "classification":
        assert list(loaded.dataset["text"]) == [r["text"] for r in records]
        assert set(loaded.labels) <= set(CLINICAL_LABELS)
