"""Every shipped policy validates and builds an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedft.config.anonymization import load_policy, policy_hash

POLICIES = sorted((Path(__file__).resolve().parents[2] / "configs" / "policies").glob("*.yaml"))


def test_policies_are_shipped():
    assert {p.stem for p in POLICIES} >= {"clinical", "banking"}


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_policy_validates(path):
    cfg = load_policy(path)
    assert cfg.enabled and cfg.custom_recognizers
    assert len(policy_hash(cfg)) == 64


def test_clinical_and_banking_engines(clinical, banking):
    [c] = clinical.anonymize_texts(["MRN-1234567 admitted to W07C, ward 12B."]).texts
    assert c == "<MEDICAL_RECORD_NUMBER> admitted to <WARD_CODE>, ward <WARD_CODE>."
    # Labels stay apart: NER calls "MRN-1234567" a person; the name is not merged into it.
    [c] = clinical.anonymize_texts(
        ["Pt JOHN SMITH, MRN-1234567, called from +44 20 7946 0958"]
    ).texts
    assert c == "Pt <PERSON>, <MEDICAL_RECORD_NUMBER>, called from <PHONE_NUMBER>"
    [b] = banking.anonymize_texts(["Statement for ACC-0123456789, sort code 12-34-56."]).texts
    assert b.startswith("Statement for <ACCOUNT_NUMBER_") and "<SORT_CODE>" in b


def test_policy_entities_all_have_recognizers(clinical, banking):
    # from_config raised otherwise; and the config's list of known entities matches Presidio.
    from fedft.config.anonymization import KNOWN_ENTITIES

    supported = set(clinical._detector.analyzer.get_supported_entities("en"))
    assert KNOWN_ENTITIES <= supported | {"ORGANIZATION", "NRP"}
