"""Several text columns of the same rows in one batch: the loop sites and `fedft anonymize`
share."""

from __future__ import annotations

import pytest

from fedft.anonymize.anonymizer import Anonymizer
from fedft.anonymize.columns import anonymize_columns
from fedft.config.anonymization import AnonymizationConfig


def test_columns_in_one_batch_match_each_column_alone(default_anonymizer):
    # Prepare
    columns = {
        "instruction": ["Call John Smith back.", "Summarize the note."],
        "input": ["Phone (212) 555-0147, MRN-1234567.", "Seen on 03/04/2024 by Dr. Kowalski."],
    }
    # Execute
    together = anonymize_columns(columns, anonymizer=default_anonymizer)
    # Assert
    for name, texts in columns.items():
        assert together.columns[name] == default_anonymizer.anonymize_texts(texts).texts
    assert together.kept == [True, True]
    assert together.report.rows_processed == 4


def test_a_row_dropped_in_one_column_is_dropped(monkeypatch, default_anonymizer):
    from fedft.anonymize.anonymizer import AnonymizationResult

    real = default_anonymizer.anonymize_texts

    def drop_third(texts):  # rows are column after column: text 2 is row 0 of column "b"
        result = real(texts)
        kept = [i != 2 for i in range(len(texts))]
        return AnonymizationResult(texts=result.texts, kept=kept, report=result.report)

    monkeypatch.setattr(default_anonymizer, "anonymize_texts", drop_third)
    out = anonymize_columns({"a": ["x", "y"], "b": ["z", "w"]}, anonymizer=default_anonymizer)
    assert out.kept == [False, True]


def test_columns_of_different_lengths_are_refused():
    disabled = Anonymizer.from_config(AnonymizationConfig(enabled=False))
    with pytest.raises(ValueError, match="one length"):
        anonymize_columns({"a": ["x"], "b": []}, anonymizer=disabled)
