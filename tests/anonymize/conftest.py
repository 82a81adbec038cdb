"""Anonymizers built once per session (loading spaCy and the recognizers takes seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedft.anonymize.anonymizer import Anonymizer
from fedft.config.anonymization import AnonymizationConfig, load_policy

POLICIES = Path(__file__).resolve().parents[2] / "configs" / "policies"
SECRET = b"test-site-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def clinical_policy() -> AnonymizationConfig:
    return load_policy(POLICIES / "clinical.yaml")


@pytest.fixture(scope="session")
def banking_policy() -> AnonymizationConfig:
    return load_policy(POLICIES / "banking.yaml")


@pytest.fixture(scope="session")
def clinical(clinical_policy) -> Anonymizer:
    return Anonymizer.from_config(clinical_policy)


@pytest.fixture(scope="session")
def banking(banking_policy) -> Anonymizer:
    return Anonymizer.from_config(banking_policy, site_secret=SECRET)


@pytest.fixture(scope="session")
def default_anonymizer() -> Anonymizer:
    return Anonymizer.from_config(AnonymizationConfig())
