"""The anonymization report's counts per HIPAA Safe Harbor category: numbers only."""

from __future__ import annotations

import json

from fedft.anonymize.report import (
    SAFE_HARBOR_CATEGORIES,
    AnonymizationReport,
    safe_harbor_category,
    safe_harbor_counts,
)
from fedft.config.anonymization import KNOWN_ENTITIES


def test_eighteen_categories_and_every_known_entity_mapped():
    assert len(SAFE_HARBOR_CATEGORIES) == 18
    for entity in KNOWN_ENTITIES:
        assert safe_harbor_category(entity) in SAFE_HARBOR_CATEGORIES
    assert safe_harbor_category("WARD_CODE") == "other_unique"  # a policy's own entity


def test_counts_regroup_entities():
    counts = safe_harbor_counts(
        {"PERSON": 3, "STREET_ADDRESS": 2, "POSTAL_CODE": 1, "AGE": 1, "DATE_TIME": 4,
         "FAX_NUMBER": 1, "VEHICLE_ID": 2, "US_PASSPORT": 1}
    )  # fmt: skip
    assert counts["names"] == 3 and counts["geographic"] == 3 and counts["dates_ages"] == 5
    assert counts["fax"] == 1 and counts["vehicle"] == 2 and counts["other_unique"] == 1
    assert set(counts) == set(SAFE_HARBOR_CATEGORIES)


def test_report_and_metrics_carry_categories_not_text(default_anonymizer):
    text = (
        "Mrs. Aigerim Bekova, 93 years old, lives at Mellemvej 32, 9000 Aalborg. "
        "Fax 212-555-0147."
    )
    result = default_anonymizer.anonymize_texts([text])
    report = result.report
    assert report.safe_harbor["names"] >= 1 and report.safe_harbor["geographic"] >= 1
    assert report.safe_harbor["dates_ages"] >= 1 and report.safe_harbor["fax"] == 1
    metrics = report.as_metrics()
    for category in SAFE_HARBOR_CATEGORIES:
        assert isinstance(metrics[f"anon_safe_harbor_{category}"], int)
        assert isinstance(metrics[f"anon_safe_harbor_residual_{category}"], int)
    blob = json.dumps(report.to_dict()) + json.dumps(metrics)
    for value in ("Bekova", "Aigerim", "Mellemvej", "Aalborg", "555-0147"):
        assert value not in blob
    # Round trip through the cache's JSON form keeps the categories (they are derived).
    assert AnonymizationReport.from_dict(report.to_dict()).safe_harbor == report.safe_harbor
