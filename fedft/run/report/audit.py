"""The privacy audit of a run, built from the run folder alone (no Flower, no model).

Sources, in order of trust: the privacy ledger (hash-chained and signed, verified here), then
`config.yaml` and `metrics.jsonl` (plain files, used for settings and utility). Every piece
may be missing; the audit says what it could not find instead of failing.

`build_audit` collects; `audit_to_dict` is the JSON form; `report_html` / `report_markdown`
render it for compliance readers (plots from `report_plots`).

ε per site is stated conservatively: the larger of what the site reported (its accountant
covers every round it spent on, including rounds the server never received) and what the
auditor recomputes from the per-round parameters in the ledger (`recompute`, injected by the
caller so this module stays free of the accounting library).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fedft.run.ledger import VerificationResult, read_ledger, verify_ledger
from fedft.run.report.empirical import empirical_findings, read_empirical

log = logging.getLogger(__name__)

__all__ = [
    "AUDIT_FORMAT",
    "Audit",
    "Mechanism",
    "Recompute",
    "audit_to_dict",
    "build_audit",
]

AUDIT_FORMAT = "fedft-audit/1"

# recompute(history=[(noise, rate, steps), ...], delta=..., accountant=..., group_size=1) -> ε
Recompute = Callable[..., float]

# Relative slack before a reported ε below the recomputed one is flagged (PRV is numerical).
_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Mechanism:
    """One party's DP mechanism over the run: a site (per record) or the server (per site)."""

    name: str
    epsilon: float | None  # the stated guarantee: max(reported, recomputed); None = no DP
    delta: float | None
    noise_multiplier: float | None
    sample_rate: float | None
    steps: int  # noisy steps (per-record DP) or rounds (site-level DP)
    max_grad_norm: float | None  # clipping norm
    accountant: str | None
    group_size: int = 1  # the ε holds for this many records together (per-record DP)
    epsilon_reported: float | None = None
    epsilon_recomputed: float | None = None
    rounds_trained: int = 0
    declined: list[dict[str, Any]] = field(default_factory=list)
    failed_rounds: list[int] = field(default_factory=list)
    epsilon_by_round: list[tuple[int, float]] = field(default_factory=list)
    varied: list[str] = field(default_factory=list)  # parameters that changed between rounds
    # Site-level DP only: sites sampled per round, sites in all, noise std on the mean update.
    num_sampled: int | None = None
    num_clients: int | None = None
    noise_std: float | None = None


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
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
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


def _latest(values: list[Any]) -> Any:
    return values[-1] if values else None


def _site_mechanisms(
    rounds: Sequence[Mapping[str, Any]], recompute: Recompute | None, findings: list[str]
) -> list[Mechanism]:
    per_site: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for body in rounds:
        for part in body.get("sites") or []:
            per_site.setdefault(str(part.get("site")), []).append((int(body["round"]), part))
    out = []
    for site in sorted(per_site):
        parts = per_site[site]
        trained = [(r, p) for r, p in parts if p.get("status") == "trained"]
        dps = [(r, p["dp"]) for r, p in trained if isinstance(p.get("dp"), Mapping)]
        declined = [
            {"round": r, "reason": p.get("reason")}
            for r, p in parts
            if p.get("status") == "declined"
        ]
        failed = [r for r, p in parts if p.get("status") == "failed"]
        if not dps:
            out.append(
                Mechanism(
                    name=site,
                    epsilon=None,
                    delta=None,
                    noise_multiplier=None,
                    sample_rate=None,
                    steps=0,
                    max_grad_norm=None,
                    accountant=None,
                    rounds_trained=len(trained),
                    declined=declined,
                    failed_rounds=failed,
                )
            )
            continue
        series = {k: [d[k] for _, d in dps] for k in dps[0][1]}
        varied = sorted(
            k
            for k in ("noise_multiplier", "sample_rate", "delta", "max_grad_norm", "accountant")
            if len(set(series[k])) > 1
        )
        delta, accountant = _latest(series["delta"]), _latest(series["accountant"])
        group_size = int(_latest(series.get("group_size") or [1]))
        reported = max(float(v) for v in series["epsilon_total"])
        recomputed = None
        if recompute is not None:
            history = [
                (float(d["noise_multiplier"]), float(d["sample_rate"]), int(d["steps"]))
                for _, d in dps
            ]
            recomputed = float(
                recompute(
                    history=history, delta=delta, accountant=accountant, group_size=group_size
                )
            )
            if recomputed > reported * (1 + _TOLERANCE) + 1e-9:
                findings.append(
                    f"{site}: reports ε={reported:.4g}, but the parameters it recorded give "
                    f"ε={recomputed:.4g}; the larger value is stated"
                )
        if len(trained) != len(dps):
            findings.append(f"{site}: {len(trained) - len(dps)} trained round(s) without DP")
        out.append(
            Mechanism(
                name=site,
                epsilon=max(reported, recomputed or 0.0),
                delta=float(delta),
                noise_multiplier=float(_latest(series["noise_multiplier"])),
                sample_rate=float(_latest(series["sample_rate"])),
                steps=sum(int(s) for s in series["steps"]),
                max_grad_norm=float(_latest(series["max_grad_norm"])),
                accountant=str(accountant),
                group_size=group_size,
                epsilon_reported=reported,
                epsilon_recomputed=recomputed,
                rounds_trained=len(trained),
                declined=declined,
                failed_rounds=failed,
                epsilon_by_round=[(r, float(d["epsilon_total"])) for r, d in dps],
                varied=varied,
            )
        )
    return out


def _site_level(
    rounds: Sequence[Mapping[str, Any]], recompute: Recompute | None, findings: list[str]
) -> Mechanism | None:
    mech = [
        (int(b["round"]), b["site_dp"]) for b in rounds if isinstance(b.get("site_dp"), Mapping)
    ]
    if not mech:
        return None
    last = mech[-1][1]
    varied = sorted(
        k
        for k in ("noise_multiplier", "clipping_norm", "sample_rate", "delta", "accountant")
        if len({str(m.get(k)) for _, m in mech}) > 1
    )
    reported = max(float(m.get("epsilon_total", 0.0)) for _, m in mech)
    recomputed = None
    if recompute is not None:
        history = [(float(m["noise_multiplier"]), float(m["sample_rate"]), 1) for _, m in mech]
        recomputed = float(
            recompute(history=history, delta=float(last["delta"]), accountant=last["accountant"])
        )
        if recomputed > reported * (1 + _TOLERANCE) + 1e-9:
            findings.append(
                f"site-level DP: the server reports ε={reported:.4g}, its recorded parameters "
                f"give ε={recomputed:.4g}; the larger value is stated"
            )
    return Mechanism(
        name="server (site-level DP)",
        epsilon=max(reported, recomputed or 0.0),
        delta=float(last["delta"]),
        noise_multiplier=float(last["noise_multiplier"]),
        sample_rate=float(last["sample_rate"]),
        steps=len(mech),
        max_grad_norm=float(last["clipping_norm"]),
        accountant=str(last["accountant"]),
        epsilon_reported=reported,
        epsilon_recomputed=recomputed,
        rounds_trained=len(mech),
        epsilon_by_round=[(r, float(m.get("epsilon_total", 0.0))) for r, m in mech],
        varied=varied,
        num_sampled=_int_or_none(last.get("num_sampled")),
        num_clients=_int_or_none(last.get("num_clients")),
        noise_std=None if last.get("noise_std") is None else float(last["noise_std"]),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


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
    recompute: Recompute | None = None,
) -> Audit:
    """Everything the report shows, from the run folder. Raises only if `run_dir` is not a
    folder; missing files become notes."""
    run_dir = Path(run_dir).expanduser().resolve()
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: not a folder; give a fedft run folder")
    notes: list[str] = []
    findings: list[str] = []
    verification = verify_ledger(run_dir, public_key=public_key, fingerprint=fingerprint)
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
    return Audit(
        run_name=run_name,
        run_dir=str(run_dir),
        verification=verification,
        settings=settings,
        settings_source=source,
        sites=_site_mechanisms(rounds, recompute, findings),
        site_level=_site_level(rounds, recompute, findings),
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
