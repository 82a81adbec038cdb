"""The hand-written dev cases of issue 19 (dev_cases.py) through the default policy: the
failure classes are caught, eponymous diagnoses and drugs survive, and the look-alikes the
new rules could take for identifiers stay.

Tuning material, so the bars are high; the honest measure is the independent corpus.
Measured (docs/anonymization.md): every class 1.0, eponym survival 1.0, probes 0.926 (the
misses, "Hepatitis B Vaccine" and "Serial troponins", are spaCy NER and the case-variant pass,
unchanged by this work).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fedft.anonymize.anonymizer import Anonymizer
from fedft.config.anonymization import DEFAULT_ENTITIES, AnonymizationConfig

# The dev set lives beside this test (tests/ is no package; pytest imports tests by path).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev_cases import DEV_CASES, EPONYM_CASES, PRECISION_CASES  # noqa: E402
from dev_score import score_dev  # noqa: E402


@pytest.fixture(scope="module")
def with_org():
    cfg = AnonymizationConfig(entities=[*DEFAULT_ENTITIES, "ORGANIZATION"])
    return Anonymizer.from_config(cfg)


def test_failure_classes_are_caught(default_anonymizer):
    score = score_dev(default_anonymizer, [c for c in DEV_CASES if c.planted[0][0] != "ORG"])
    for cls, recall in score["recall"].items():
        if cls != "ORG":
            assert recall >= 0.95, (cls, score["missed"])
    assert score["kept"] == 1.0, score["over"]


def test_organization_is_opt_in(default_anonymizer, with_org):
    assert "ORGANIZATION" not in DEFAULT_ENTITIES
    org_cases = [c for c in DEV_CASES if c.planted[0][0] == "ORG"]
    assert score_dev(with_org, org_cases)["recall"]["ORG"] == 1.0


def test_eponyms_survive(default_anonymizer, with_org):
    # Without any allow list in the policy: the eponym guard alone.
    for anonymizer in (default_anonymizer, with_org):
        assert anonymizer.cfg.allow_list == []
        score = score_dev(anonymizer, EPONYM_CASES)
        assert score["kept"] >= 0.95, score["over"]


def test_look_alikes_survive(default_anonymizer):
    score = score_dev(default_anonymizer, PRECISION_CASES)
    assert score["kept"] >= 0.85, score["over"]
    # None of the new rules fires on them.
    spans = default_anonymizer.detect([c.text for c in PRECISION_CASES])
    new = {"cue", "FedftIntlAddressRecognizer", "FedftPostalCodeRecognizer",
           "FedftAgeRecognizer", "FedftLicenceRecognizer", "FedftVehicleRecognizer",
           "FedftDeviceRecognizer", "FedftFaxRecognizer"}  # fmt: skip
    fired = [(c.text, s.source) for c, found in zip(PRECISION_CASES, spans, strict=True)
             for s in found if s.source in new]  # fmt: skip
    assert not fired


def test_eponym_guard_keeps_people_named_like_eponyms(default_anonymizer):
    texts = ["Mr. Parkinson called about his results.", "Seen by Dr. Graves today."]
    for text, found in zip(texts, default_anonymizer.detect(texts), strict=True):
        assert any(s.entity == "PERSON" for s in found), text
