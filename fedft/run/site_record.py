"""A site's ledger record, from its metrics: one definition for the site (which signs it), the
coordinator (which records it) and the report (which reads it).

A site reports its anonymization as flat scalar metrics (`anon_*`,
`fedft.anonymize.report.AnonymizationReport.as_metrics`, plus `anon_policy_hash`); the ledger
keeps them under the names of the site's own `anonymization_report.json` (`rows_processed`,
`entities_total`, ...), which is what the report reads. `ANON_FIELDS` maps one to the other;
tests/run/test_site_record.py fails if a metric name drifts from the report's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ANON_FIELDS",
    "ANON_POLICY_HASH_METRIC",
    "BUDGET_HEAD_METRIC",
    "BUDGET_RECORDS_METRIC",
    "BUDGET_RECOVERIES_METRIC",
    "DEDUP_METRIC_PREFIX",
    "anonymization_record",
    "budget_record",
    "dp_record",
]

ANON_POLICY_HASH_METRIC = "anon_policy_hash"

# Ledger name -> metric name. Counts are ints; `policy_hash` is the sha256 (hex) of the
# site's resolved anonymization policy (`fedft.config.anonymization.policy_hash`).
ANON_FIELDS: dict[str, str] = {
    "enabled": "anon_enabled",
    "rows_processed": "anon_rows",
    "rows_changed": "anon_rows_changed",
    "rows_dropped": "anon_rows_dropped",
    "entities_total": "anon_entities",
    "residual_total": "anon_residual",
    "policy_hash": ANON_POLICY_HASH_METRIC,
}
# Duplicate rows a site dropped after anonymization (fedft.data.dedup), when data.dedup is on:
# anon_dedup_exact, anon_dedup_near, anon_dedup_kept; the ledger keeps them as `dedup`.
DEDUP_METRIC_PREFIX = "anon_dedup_"
_DEDUP_FIELDS = ("exact", "near", "kept")
# Per-entity residual detections (`anon_residual_<ENTITY>`): what an auditor looks at first.
_RESIDUAL_PREFIX = "anon_residual_"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def anonymization_record(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ledger form of a site's `anon_*` metrics, or None when it reported none.

    Raises ValueError when a site reports some anonymization metrics but not all of
    ANON_FIELDS (a site running another fedft version), or a policy hash that is not a sha256.
    """
    if not any(k.startswith("anon_") for k in metrics):
        return None
    missing = [m for m in ANON_FIELDS.values() if m not in metrics]
    if missing:
        raise ValueError(f"site metrics lack {', '.join(missing)}")
    record: dict[str, Any] = {
        name: int(metrics[metric]) for name, metric in ANON_FIELDS.items() if name != "policy_hash"
    }
    record["enabled"] = bool(record["enabled"])
    digest = str(metrics[ANON_POLICY_HASH_METRIC])
    if not _SHA256.match(digest):
        raise ValueError(f"{ANON_POLICY_HASH_METRIC} {digest!r} is not a lowercase hex sha256")
    record["policy_hash"] = digest
    record["residual_by_entity"] = {
        k[len(_RESIDUAL_PREFIX) :]: int(v)
        for k, v in sorted(metrics.items())
        if k.startswith(_RESIDUAL_PREFIX)
    }
    # Only present under data.dedup, so ledgers of runs without it are unchanged.
    if any(k.startswith(DEDUP_METRIC_PREFIX) for k in metrics):
        missing = [
            f"{DEDUP_METRIC_PREFIX}{f}"
            for f in _DEDUP_FIELDS
            if f"{DEDUP_METRIC_PREFIX}{f}" not in metrics
        ]
        if missing:
            raise ValueError(f"site metrics lack {', '.join(missing)}")
        record["dedup"] = {f: int(metrics[f"{DEDUP_METRIC_PREFIX}{f}"]) for f in _DEDUP_FIELDS}
    return record


# The DP account (fedft.dp.plan.RoundAccount, `dp_*` metrics), with its types: the site signs
# exactly these values and the coordinator records them (tests/run/test_site_record.py ties
# the casts to RoundAccount.from_metrics).
_DP_TYPES: dict[str, type] = {
    "noise_multiplier": float,
    "sample_rate": float,
    "steps": int,
    "delta": float,
    "max_grad_norm": float,
    "accountant": str,
    "epsilon_round": float,
    "epsilon_total": float,
    "group_size": int,
}


def dp_record(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ledger form of a site's `dp_*` metrics, or None without sample-level DP."""
    if not any(k.startswith("dp_") for k in metrics):
        return None
    missing = [f"dp_{f}" for f in _DP_TYPES if f"dp_{f}" not in metrics]
    if missing:
        raise ValueError(f"site metrics lack {', '.join(missing)}")
    return {f: cast(metrics[f"dp_{f}"]) for f, cast in _DP_TYPES.items()}


# The site's budget history (fedft.dp.budget): how many rounds it holds and the hash of its
# last record. Across rounds, the count must grow: a count that falls means the history was
# restarted (the budget file deleted or replaced), which the audit flags.
BUDGET_RECORDS_METRIC = "budget_records"
BUDGET_HEAD_METRIC = "budget_head"
BUDGET_RECOVERIES_METRIC = "budget_recoveries"  # times the site rebuilt its budget


def budget_record(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    if BUDGET_RECORDS_METRIC not in metrics:
        return None
    return {
        "records": int(metrics[BUDGET_RECORDS_METRIC]),
        "head": str(metrics.get(BUDGET_HEAD_METRIC, "")),
        "recoveries": int(metrics.get(BUDGET_RECOVERIES_METRIC, 0)),
    }
