"""What anonymization did at one site, as counts only: never a raw value, never text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AnonymizationReport",
    "METRIC_PREFIX",
    "SAFE_HARBOR_CATEGORIES",
    "model_hash_48",
    "safe_harbor_category",
    "safe_harbor_counts",
]

METRIC_PREFIX = "anon_"

# HIPAA Safe Harbor's 18 identifier categories (45 CFR 164.514(b)(2)(i)(A)-(R)), in order.
SAFE_HARBOR_CATEGORIES = (
    "names", "geographic", "dates_ages", "telephone", "fax", "email", "ssn", "medical_record",
    "health_plan", "account", "certificate_license", "vehicle", "device", "url", "ip",
    "biometric", "photo", "other_unique",
)  # fmt: skip
# Entity -> category. Entities not listed (passport, ITIN, NHS, generic ID numbers, crypto
# wallets, organizations, a policy's own entities but those named here) fall under "any other
# unique identifying number, characteristic, or code". Biometrics and photos are not text.
_SAFE_HARBOR = {
    "PERSON": "names",
    "LOCATION": "geographic", "STREET_ADDRESS": "geographic", "POSTAL_CODE": "geographic",
    "DATE_TIME": "dates_ages", "AGE": "dates_ages",
    "PHONE_NUMBER": "telephone",
    "FAX_NUMBER": "fax",
    "EMAIL_ADDRESS": "email",
    "US_SSN": "ssn",
    "MEDICAL_RECORD_NUMBER": "medical_record",
    "HEALTH_PLAN_NUMBER": "health_plan",
    "ACCOUNT_NUMBER": "account", "US_BANK_NUMBER": "account", "CREDIT_CARD": "account",
    "IBAN_CODE": "account",
    "US_DRIVER_LICENSE": "certificate_license", "MEDICAL_LICENSE": "certificate_license",
    "LICENSE_NUMBER": "certificate_license",
    "VEHICLE_ID": "vehicle",
    "DEVICE_ID": "device", "MAC_ADDRESS": "device",
    "URL": "url",
    "IP_ADDRESS": "ip",
}  # fmt: skip


def safe_harbor_category(entity: str) -> str:
    """The Safe Harbor category an entity's detections count under."""
    return _SAFE_HARBOR.get(entity, "other_unique")


def safe_harbor_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Per-entity counts summed per Safe Harbor category; every category present."""
    out = dict.fromkeys(SAFE_HARBOR_CATEGORIES, 0)
    for entity, n in counts.items():
        out[safe_harbor_category(entity)] += int(n)
    return out


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
    site reports do not depend on its data. `safe_harbor` / `safe_harbor_residual` regroup
    `entities` / `residual` by HIPAA Safe Harbor category (all 18 present).
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

    @property
    def safe_harbor(self) -> dict[str, int]:
        return safe_harbor_counts(self.entities)

    @property
    def safe_harbor_residual(self) -> dict[str, int]:
        return safe_harbor_counts(self.residual)

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
            "safe_harbor": self.safe_harbor,
            "safe_harbor_residual": self.safe_harbor_residual,
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
        anon_residual_<ENTITY>, anon_safe_harbor_<category>, anon_safe_harbor_residual_<category>
        (SAFE_HARBOR_CATEGORIES), anon_enabled, anon_cache_hit, anon_seconds, anon_model_pinned,
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
        for name, count in self.safe_harbor.items():
            metrics[f"{p}safe_harbor_{name}"] = count
        for name, count in self.safe_harbor_residual.items():
            metrics[f"{p}safe_harbor_residual_{name}"] = count
        return metrics
