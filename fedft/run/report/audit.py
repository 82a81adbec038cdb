"""The privacy audit of a run, built from the run folder alone (no Flower, no model).

Sources, in order of trust: the privacy ledger (hash-chained and signed, verified here), then
`config.yaml` and `metrics.jsonl` (plain files, used for settings and utility). Every piece
may be missing; the audit says what it could not find instead of failing.

`build_audit` collects; `audit_to_dict` is the JSON form; `report.render` (render_html,
render_markdown) renders it for compliance readers. Each party's DP mechanism and its
conservative ε are worked out in `report.mechanisms`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedft.config.base import YamlError, read_yaml
from fedft.run.ledger_verify import VerificationResult, read_ledger, verify_ledger
from fedft.run.report.budget_findings import budget_findings
from fedft.run.report.empirical import empirical_findings, read_empirical
from fedft.run.report.mechanisms import (
    Mechanism,
    Recompute,
    site_level_mechanism,
    site_mechanisms,
)

log = logging.getLogger(__name__)

__all__ = [
    "AUDIT_FORMAT",
    "Audit",
    "audit_to_dict",
    "build_audit",
]

AUDIT_FORMAT = "fedft-audit/1"


@dataclass(frozen=True)
class Audit:
    run_name: str
    run_dir: str
    verification: VerificationResult
    settings: dict[str, Any]
    settings_source: str  # "ledger" (signed), "config.yaml" (unsigned) or "none"
    sites: list[Mechanism]
    site_level: Mechanism | None
    rounds: list[dict[str, Any]]  # per round: round, adapter sha256, SecAgg, sites by status
    utility: list[dict[str, Any]]  # metrics.jsonl rows: round, eval_* values
    anonymization: dict[str, Any]  # policy hashes and latest counts per site
    findings: list[str]  # inconsistencies an auditor must look at
    notes: list[str]  # missing pieces
    empirical: dict[str, Any] | None = None  # canary audit (empirical_audit.json), if run

    def section(self, name: str) -> dict[str, Any]:
        """A settings section (e.g. "dp") as a dict; empty when absent."""
        value = self.settings.get(name)
        return dict(value) if isinstance(value, Mapping) else {}

    @property
    def utility_metric(self) -> str | None:
        for name in ("eval_accuracy", "eval_perplexity"):
            if any(row.get(name) is not None for row in self.utility):
                return name
        return None


def _read_config(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return None
    try:
        data = read_yaml(path)
    except (YamlError, OSError):
        return None
    return data if isinstance(data, dict) else None


def _read_metrics(run_dir: Path) -> list[dict[str, Any]] | None:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return None
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("round"), int):
            keep = ("round", "eval_accuracy", "eval_perplexity", "eval_loss")
            rows.append({k: row.get(k) for k in keep if k in row})
    return sorted(rows, key=lambda r: r["round"])


def _settings(
    entries: Sequence[Mapping[str, Any]], config: Mapping[str, Any] | None
) -> tuple[dict[str, Any], str]:
    keys = ("dp", "site_dp", "secure_aggregation", "anonymization", "federation")
    start = next((e for e in entries if e.get("kind") == "run_start"), None)
    if start is not None and isinstance(start.get("body"), Mapping):
        return dict(start["body"]), "ledger"
    if config is not None:
        return {k: config[k] for k in keys if k in config}, "config.yaml"
    return {}, "none"


def _anonymization(
    rounds: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]
) -> dict[str, Any]:
    hashes: set[str] = set()
    if isinstance(settings.get("anonymization_policy_hash"), str):
        hashes.add(settings["anonymization_policy_hash"])
    latest: dict[str, Any] = {}
    for body in rounds:
        for part in body.get("sites") or []:
            counts = part.get("anonymization")
            if isinstance(counts, Mapping):
                latest[str(part.get("site"))] = dict(counts)
                if isinstance(counts.get("policy_hash"), str):
                    hashes.add(counts["policy_hash"])
    return {"policy_hashes": sorted(hashes), "sites": dict(sorted(latest.items()))}


def _round_rows(rounds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for body in rounds:
        status: dict[str, list[str]] = {"trained": [], "declined": [], "failed": []}
        for part in body.get("sites") or []:
            status.setdefault(str(part.get("status")), []).append(str(part.get("site")))
        rows.append(
            {
                "round": body["round"],
                "global_adapter_sha256": body.get("global_adapter_sha256"),
                "secure_aggregation": body.get("secure_aggregation"),
                "site_dp": body.get("site_dp") is not None,
                **{k: sorted(v) for k, v in status.items()},
            }
        )
    return rows


def build_audit(
    run_dir: Path,
    *,
    public_key: Path | None = None,
    fingerprint: str | None = None,
    site_fingerprints: Mapping[str, str] | None = None,
    recompute: Recompute | None = None,
) -> Audit:
    """Everything the report shows, from the run folder. Raises only if `run_dir` is not a
    folder; missing files become notes."""
    run_dir = Path(run_dir).expanduser().resolve()
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: not a folder; give a fedft run folder")
    notes: list[str] = []
    findings: list[str] = []
    verification = verify_ledger(
        run_dir, public_key=public_key, fingerprint=fingerprint, site_fingerprints=site_fingerprints
    )
    entries = read_ledger(run_dir)
    if not entries:
        notes.append("no privacy ledger entries: per-round DP figures are unavailable")
    config = _read_config(run_dir)
    if config is None:
        notes.append("config.yaml absent or unreadable")
    metrics = _read_metrics(run_dir)
    if metrics is None:
        notes.append("metrics.jsonl absent: no utility figures")
    settings, source = _settings(entries, config)
    # A resumed run may hold a superseded entry of the round it was cut short in: the last wins.
    latest = {
        e["body"]["round"]: e["body"]
        for e in entries
        if e.get("kind") == "round"
        and isinstance(e.get("body"), Mapping)
        and isinstance(e["body"].get("round"), int)
    }
    rounds = [latest[r] for r in sorted(latest)]
    if not verification.ok:
        findings.append("the ledger failed verification: figures below may have been altered")
    empirical = read_empirical(run_dir)
    run_name = str((config or {}).get("run", {}).get("name") or run_dir.name)
    sites = site_mechanisms(rounds, recompute, findings)
    findings += budget_findings(rounds, sites, settings)
    return Audit(
        run_name=run_name,
        run_dir=str(run_dir),
        verification=verification,
        settings=settings,
        settings_source=source,
        sites=sites,
        site_level=site_level_mechanism(rounds, recompute, findings),
        rounds=_round_rows(rounds),
        utility=metrics or [],
        anonymization=_anonymization(rounds, settings),
        findings=findings + empirical_findings(empirical),
        notes=notes,
        empirical=empirical,
    )


def _mechanism_dict(m: Mechanism) -> dict[str, Any]:
    return {
        "epsilon": m.epsilon,
        "delta": m.delta,
        "noise_multiplier": m.noise_multiplier,
        "sample_rate": m.sample_rate,
        "steps": m.steps,
        "max_grad_norm": m.max_grad_norm,
        "accountant": m.accountant,
        "group_size": m.group_size,
        "dp": m.epsilon is not None,
        "epsilon_reported": m.epsilon_reported,
        "epsilon_recomputed": m.epsilon_recomputed,
        "rounds_trained": m.rounds_trained,
        "declined": m.declined,
        "failed_rounds": m.failed_rounds,
        "epsilon_by_round": [{"round": r, "epsilon": e} for r, e in m.epsilon_by_round],
        "varied": m.varied,
    }


def _site_level_dict(m: Mechanism) -> dict[str, Any]:
    """The server mechanism: the per-site keys (steps = rounds, max_grad_norm = the update
    clipping norm), plus the same under their site-level names and the round's shape."""
    return {
        **_mechanism_dict(m),
        "clipping_norm": m.max_grad_norm,
        "rounds": m.steps,
        "num_sampled": m.num_sampled,
        "num_clients": m.num_clients,
        "noise_std": m.noise_std,
    }


def audit_to_dict(audit: Audit) -> dict[str, Any]:
    """The JSON report: per site the sample-level figures, `site_level` the server's."""
    v = audit.verification
    return {
        "format": AUDIT_FORMAT,
        "run": {"name": audit.run_name, "dir": audit.run_dir},
        "ledger": {
            "ok": v.ok,
            "entries": v.entries,
            "closed": v.closed,
            "head_hash": v.head_hash,
            "key_fingerprint": v.key_fingerprint,
            "pinned": v.pinned,
            "site_signatures": v.site_signatures,
            "sites_pinned": v.sites_pinned,
            "key_custody": audit.section("ledger_key").get("custody"),
            "problems": list(v.problems),
        },
        "sites": {m.name: _mechanism_dict(m) for m in audit.sites},
        "site_level": None if audit.site_level is None else _site_level_dict(audit.site_level),
        "rounds": audit.rounds,
        "anonymization": audit.anonymization,
        "settings": audit.settings,
        "settings_source": audit.settings_source,
        "utility": audit.utility,
        "findings": audit.findings,
        "notes": audit.notes,
        "empirical": audit.empirical,
    }
