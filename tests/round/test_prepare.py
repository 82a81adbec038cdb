"""Site data preparation: every text column anonymized before tokenization; counts only out."""

import datasets
import pytest

from fedft.config.anonymization import AnonymizationConfig
from fedft.data.synthetic import generate_corpus
from fedft.round.prepare import TEXT_COLUMNS, anonymize_dataset, anonymizer_for

STRUCTURED = {"US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER", "MEDICAL_RECORD_NUMBER", "CREDIT_CARD", "IBAN_CODE"}


@pytest.mark.parametrize("task", ["classification", "instruction"])
def test_no_planted_identifier_survives_in_any_text_column(tmp_path, task):
    # Prepare
    records = generate_corpus(kind="clinical", n=30, seed=5, task=task)
    columns = TEXT_COLUMNS[task]
    ds = datasets.Dataset.from_list([{c: r[c] for c in (*columns, "label") if c in r} for r in records])
    anonymizer = anonymizer_for(AnonymizationConfig(), state_dir=tmp_path, create_secret=True)
    # Execute
    out, report = anonymize_dataset(ds, task=task, anonymizer=anonymizer)
    # Assert
    texts = [t for c in columns for t in out[c]]
    planted = [p["value"] for r in records for p in r["pii"] if p["entity"] in STRUCTURED]
    assert planted, "the corpus must plant structured identifiers"
    leaked = [v for v in planted if any(v in t for t in texts)]
    assert leaked == []
    assert len(out) == len(ds) - report.rows_dropped
    assert report.entities_total > 0
    assert all(isinstance(v, int | float) for v in report.as_metrics().values())
