"""Recall and precision on the planted-PII corpus, per entity, with the shipped policies.

Thresholds (measured values in docs/anonymization.md; seeds 1, 3, 7, 11, 23 all pass; the
test runs seed 1):
- every structured identifier (SSN, card, IBAN, phone, e-mail, IP, record / account / ward
  numbers) removed: recall 1.0, zero leaks — a single surviving identifier re-identifies;
- overall recall >= 0.98 (the issue's bar; measured 0.984-0.994);
- PERSON >= 0.95 (measured 0.953-0.987; the misses are lowercase names that are also English
  words, e.g. "donna read", and "Last, First" pairs NER reads as places);
- DATE_TIME >= 0.98, STREET_ADDRESS and URL >= 0.95, LOCATION >= 0.85 (cities only planted
  after addresses; lowercase unknown towns are the misses; few samples, so a loose bound);
- precision (share of detections that overlap a planted value) >= 0.97 overall and >= 0.95
  for PERSON: over-redaction costs training signal, so it is bounded too;
- keep rate (drug names, eponymous diseases, "SSN"/"DOB", lab values surviving) >= 0.95 with
  the policy's allow list, and >= 0.70 without it (recognizers alone; measured ~0.79).
"""

from __future__ import annotations

import pytest
from fedft_eval.pii_corpus import STRUCTURED, generate_pii_corpus
from fedft_eval.pii_score import score_corpus

SEED = 1


def _score(anonymizer, docs):
    texts = [d.text for d in docs]
    spans = anonymizer.detect(texts)
    result = anonymizer.anonymize_texts(texts)
    # A dropped row (residual hit) leaks nothing; score the text the detector produced.
    outputs = [o if k else "" for o, k in zip(result.texts, result.kept, strict=True)]
    return score_corpus(docs, spans, outputs), result


@pytest.fixture(scope="module")
def clinical_score(clinical):
    return _score(clinical, generate_pii_corpus(n_docs=300, seed=SEED, domain="clinical"))


@pytest.fixture(scope="module")
def banking_score(banking):
    return _score(banking, generate_pii_corpus(n_docs=150, seed=SEED, domain="banking"))


@pytest.mark.parametrize("which", ["clinical_score", "banking_score"])
def test_no_structured_identifier_survives(which, request):
    score, _ = request.getfixturevalue(which)
    assert score.structured_leaks == 0, score.missed_by_style
    for entity in STRUCTURED & set(score.planted):
        assert score.recall(entity) == 1.0, (entity, score.missed_by_style)


@pytest.mark.parametrize("which", ["clinical_score", "banking_score"])
def test_recall_thresholds(which, request):
    score, _ = request.getfixturevalue(which)
    assert score.recall() >= 0.98, score.summary()
    assert score.recall("PERSON") >= 0.95, score.missed_by_style
    assert score.recall("DATE_TIME") >= 0.98, score.missed_by_style
    for entity in ("STREET_ADDRESS", "URL"):
        assert score.recall(entity) >= 0.95, (entity, score.missed_by_style)
    assert score.recall("LOCATION") >= 0.85, score.missed_by_style


@pytest.mark.parametrize("which", ["clinical_score", "banking_score"])
def test_precision_and_keep_rate(which, request):
    score, _ = request.getfixturevalue(which)
    assert score.precision() >= 0.97, score.summary()
    assert score.precision("PERSON") >= 0.95, score.summary()
    assert score.keep_rate >= 0.95, score.summary()


def test_hard_formats_are_planted():
    # The corpus must keep exercising the formats vanilla Presidio misses.
    docs = generate_pii_corpus(n_docs=300, seed=SEED, domain="mixed")
    planted = {(p.entity, p.style.split("+")[0]) for d in docs for p in d.planted}
    for needed in [
        ("PERSON", "lower"), ("PERSON", "upper"), ("PERSON", "last_first"),
        ("PERSON", "particle"), ("PHONE_NUMBER", "faker_intl"), ("PHONE_NUMBER", "us_001"),
        ("US_SSN", "bare"), ("EMAIL_ADDRESS", "angle"), ("DATE_TIME", "words_ordinal_lower"),
        ("MEDICAL_RECORD_NUMBER", "bare"), ("MEDICAL_RECORD_NUMBER", "prefixed"),
        ("WARD_CODE", "words"), ("ACCOUNT_NUMBER", "bare"),
    ]:  # fmt: skip
        assert needed in planted, needed


def test_allow_list_matters_for_precision(clinical_policy):
    # Without the allow list the recognizers alone still keep most clinical terms.
    from fedft.anonymize.anonymizer import Anonymizer

    bare = Anonymizer.from_config(clinical_policy.model_copy(update={"allow_list": []}))
    score, _ = _score(bare, generate_pii_corpus(n_docs=120, seed=SEED, domain="clinical"))
    assert score.keep_rate >= 0.70, score.summary()
    assert score.recall() >= 0.98


def test_report_of_corpus_has_counts_not_values(clinical_score):
    _, result = clinical_score
    docs = generate_pii_corpus(n_docs=300, seed=SEED, domain="clinical")
    blob = str(result.report.to_dict()) + str(result.report.as_metrics())
    for d in docs[:100]:
        for p in d.planted:
            if len(p.value) >= 5:
                assert p.value not in blob
