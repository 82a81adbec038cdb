"""One default-policy anonymizer per session (loading spaCy and the recognizers takes seconds)."""

from __future__ import annotations

import pytest

from fedft.anonymize.anonymizer import Anonymizer
from fedft.config.anonymization import AnonymizationConfig


@pytest.fixture(scope="session")
def default_anonymizer() -> Anonymizer:
    return Anonymizer.from_config(AnonymizationConfig())
