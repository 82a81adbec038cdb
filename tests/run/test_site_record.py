"""One schema for anonymization counts: site metrics -> ledger record -> report."""

import pytest

from fedft.anonymize.report import AnonymizationReport
from fedft.run.site_record import ANON_FIELDS, ANON_POLICY_HASH_METRIC, anonymization_record

POLICY = "ab" * 32
REPORT = AnonymizationReport(
    rows_processed=40,
    rows_changed=31,
    rows_dropped=1,
    entities={"PERSON": 20, "PHONE_NUMBER": 9},
    operators={"replace": 29},
    residual={"PERSON": 2, "PHONE_NUMBER": 0},
    policy_hash=POLICY,
    model="en_core_web_sm==3.8.0",
)


def _metrics():
    return {**REPORT.as_metrics(), ANON_POLICY_HASH_METRIC: REPORT.policy_hash, "steps": 3}


def test_every_ledger_field_comes_from_a_metric_the_site_sends():
    # Execute
    record = anonymization_record(_metrics())
    # Assert: the names the report reads are the site's own report's names, with its values
    own = REPORT.to_dict()
    for name in ANON_FIELDS:
        assert record[name] == own[name], name
    assert record["residual_by_entity"] == {"PERSON": 2, "PHONE_NUMBER": 0}


def test_no_anonymization_metrics_is_no_record():
    assert anonymization_record({"steps": 3, "train_loss": 0.1}) is None


@pytest.mark.parametrize(
    ("drop", "bad_hash", "message"),
    [
        ("anon_residual", None, "lack anon_residual"),
        (ANON_POLICY_HASH_METRIC, None, f"lack {ANON_POLICY_HASH_METRIC}"),
        (None, "not-a-hash", "not a lowercase hex sha256"),
    ],
)
def test_a_partial_or_malformed_record_is_refused(drop, bad_hash, message):
    metrics = _metrics()
    if drop:
        del metrics[drop]
    if bad_hash:
        metrics[ANON_POLICY_HASH_METRIC] = bad_hash
    with pytest.raises(ValueError, match=message):
        anonymization_record(metrics)


def test_dedup_counts_reach_the_record_only_when_sent():
    metrics = {**_metrics(), "anon_dedup_exact": 2, "anon_dedup_near": 3, "anon_dedup_kept": 35}
    assert anonymization_record(metrics)["dedup"] == {"exact": 2, "near": 3, "kept": 35}
    assert "dedup" not in anonymization_record(_metrics())
    del metrics["anon_dedup_near"]
    with pytest.raises(ValueError, match="lack anon_dedup_near"):
        anonymization_record(metrics)
