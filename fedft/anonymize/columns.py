"""Several text columns of the same rows anonymized as one batch: what a site trains on, and
what `fedft anonymize` shows its data steward (one loop for both)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fedft.anonymize.anonymizer import Anonymizer
from fedft.anonymize.report import AnonymizationReport

__all__ = ["AnonymizedColumns", "anonymize_columns"]


@dataclass(frozen=True)
class AnonymizedColumns:
    """columns[name][i] is row i's text in that column, anonymized ("" for a dropped row);
    kept[i] is False when any column of row i was dropped for residual PII."""

    columns: dict[str, list[str]]
    kept: list[bool]
    report: AnonymizationReport


def anonymize_columns(
    columns: Mapping[str, Sequence[str]], *, anonymizer: Anonymizer
) -> AnonymizedColumns:
    """Every column in one `anonymize_texts` call (one report, one cache entry, column after
    column); a row is kept only if all its columns are. Raises ValueError when the columns
    differ in length, and what `anonymize_texts` raises."""
    names = list(columns)
    lengths = {name: len(columns[name]) for name in names}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns must have one length (one text per row), got {lengths}")
    n = lengths[names[0]] if names else 0
    result = anonymizer.anonymize_texts([text for name in names for text in columns[name]])
    texts = {name: result.texts[i * n : (i + 1) * n] for i, name in enumerate(names)}
    kept = [all(result.kept[i * n + row] for i in range(len(names))) for row in range(n)]
    return AnonymizedColumns(columns=texts, kept=kept, report=result.report)
