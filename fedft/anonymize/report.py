"""What anonymization did at one site, as counts only: never a raw value, never text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AnonymizationReport", "METRIC_PREFIX", "model_hash_48"]

METRIC_PREFIX = "anon_"


def model_hash_48(sha256_hex: str) -> int:
    """First 12 hex digits of a sha256 as an int (0 for ""): which model ran, as a metric."""
    return int(sha256_hex[:12], 16) if sha256_hex else 0


@dataclass(frozen=True)
class AnonymizationReport:
    """Counts for one call of `Anonymizer.anonymize_texts`.

    entities: spans anonymized per entity type; operators: spans per operator;
    residual: detections left after anonymization, per entity type (second pass);
    model / model_sha256 / model_pinned: the spaCy model that ran ("name==version"), the sha256
    of its folder, and whether that digest was checked against fedft's pin (model_pin.py);
    rows_dropped: rows removed because of residual hits (policy `residual: drop_row`).
    Every entity and operator of the policy is present (zero or not), so the metric names a
    site reports do not depend on its data.
    """

    rows_processed: int
    rows_changed: int
    rows_dropped: int
    entities: Mapping[str, int]
    operators: Mapping[str, int]
    residual: Mapping[str, int]
    policy_hash: str
    model: str
    model_sha256: str = ""
    model_pinned: bool = False
    enabled: bool = True
    cache_hit: bool = False
    seconds: float = 0.0

    @property
    def residual_total(self) -> int:
        return sum(self.residual.values())

    @property
    def entities_total(self) -> int:
        return sum(self.entities.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for the run folder."""
        return {
            "enabled": self.enabled,
            "rows_processed": self.rows_processed,
            "rows_changed": self.rows_changed,
            "rows_dropped": self.rows_dropped,
            "entities": dict(sorted(self.entities.items())),
            "entities_total": self.entities_total,
            "operators": dict(sorted(self.operators.items())),
            "residual": dict(sorted(self.residual.items())),
            "residual_total": self.residual_total,
            "policy_hash": self.policy_hash,
            "model": self.model,
            "model_sha256": self.model_sha256,
            "model_pinned": self.model_pinned,
            "cache_hit": self.cache_hit,
            "seconds": round(self.seconds, 4),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnonymizationReport:
        return cls(
            rows_processed=int(data["rows_processed"]),
            rows_changed=int(data["rows_changed"]),
            rows_dropped=int(data["rows_dropped"]),
            entities={str(k): int(v) for k, v in data["entities"].items()},
            operators={str(k): int(v) for k, v in data["operators"].items()},
            residual={str(k): int(v) for k, v in data["residual"].items()},
            policy_hash=str(data["policy_hash"]),
            model=str(data["model"]),
            model_sha256=str(data.get("model_sha256", "")),
            model_pinned=bool(data.get("model_pinned", False)),
            enabled=bool(data.get("enabled", True)),
            cache_hit=bool(data.get("cache_hit", False)),
            seconds=float(data.get("seconds", 0.0)),
        )

    def as_metrics(self) -> dict[str, int | float]:
        """Flat scalar counts, the only part of anonymization that may travel to the server
        (as Flower metrics). Names: anon_rows, anon_rows_changed, anon_rows_dropped,
        anon_entities, anon_entity_<ENTITY>, anon_operator_<op>, anon_residual,
        anon_residual_<ENTITY>, anon_enabled, anon_cache_hit, anon_seconds, anon_model_pinned,
        anon_model_sha256_48 (the first 48 bits of the model folder's sha256, as an integer:
        metrics carry numbers only, and 48 bits fit a float exactly; 0 when disabled)."""
        p = METRIC_PREFIX
        metrics: dict[str, int | float] = {
            f"{p}enabled": int(self.enabled),
            f"{p}rows": self.rows_processed,
            f"{p}rows_changed": self.rows_changed,
            f"{p}rows_dropped": self.rows_dropped,
            f"{p}entities": self.entities_total,
            f"{p}residual": self.residual_total,
            f"{p}cache_hit": int(self.cache_hit),
            f"{p}model_pinned": int(self.model_pinned),
            f"{p}model_sha256_48": model_hash_48(self.model_sha256),
            f"{p}seconds": round(float(self.seconds), 4),
        }
        for name, count in sorted(self.entities.items()):
            metrics[f"{p}entity_{name}"] = int(count)
        for name, count in sorted(self.operators.items()):
            metrics[f"{p}operator_{name}"] = int(count)
        for name, count in sorted(self.residual.items()):
            metrics[f"{p}residual_{name}"] = int(count)
        return metrics
