"""The card `fedft export` writes next to an adapter: how it was trained and under which
guarantees, read from the run folder's verified ledger (not from anyone's say-so)."""

from __future__ import annotations

import json
from pathlib import Path

from fedft.run.report.audit import audit_to_dict, build_audit
from fedft.run.rundir import RunDir

CARD_NAME = "MODEL_CARD.md"


def _fmt(value: float | None) -> str:
    return "not recorded" if value is None else f"{value:.4g}"


def _dp_lines(sites: dict) -> list[str]:
    with_dp = {name: s for name, s in sites.items() if s.get("dp")}
    if not with_dp:
        return [
            "- **Differential privacy: none.** No formal bound limits what the adapter reveals "
            "about any single training record."
        ]
    lines = ["- **Sample-level differential privacy (DP-SGD at each site):**"]
    for name, s in sorted(with_dp.items()):
        group = s.get("group_size", 1)
        if group == 1:
            unit, accountant = "each of its records is", f"{s['accountant']} accountant"
        else:
            unit, accountant = f"any {group} of its records together are", "accounted as groups"
        lines.append(
            f"  - {name}: {unit} ({s['epsilon']:.3g}, {s['delta']:.2g})-DP "
            f"(noise multiplier {s['noise_multiplier']:.3g}, clipping {s['max_grad_norm']:g}, "
            f"{s['steps']} steps, {accountant})"
        )
    return lines


def _site_level_lines(server: dict | None) -> list[str]:
    if not server or not server.get("dp"):
        return [
            "- **Site-level differential privacy: none.** No formal bound limits what the adapter "
            "reveals about any one site's participation."
        ]
    return [
        f"- **Site-level differential privacy (DP-FedAvg on the server):** each site as a whole "
        f"is ({server['epsilon']:.3g}, {server['delta']:.2g})-DP over {server['rounds']} rounds "
        f"(update clipping {server['clipping_norm']:g}, noise multiplier "
        f"{server['noise_multiplier']:.3g}, {server['sample_rate']:.3g} of the sites per round, "
        f"{server['accountant']} accountant). The coordinator added the noise and is not "
        "covered by it."
    ]


def model_card(run_dir: RunDir, *, server_round: int) -> str:
    audit = audit_to_dict(build_audit(run_dir.root))
    settings = audit.get("settings") or {}
    sa = settings.get("secure_aggregation") or {}
    ledger = audit["ledger"]
    summary = json.loads(run_dir.summary.read_text()) if run_dir.summary.is_file() else {}
    lines = [
        f"# Federated LoRA adapter — run `{run_dir.root.name}`, round {server_round}",
        "",
        f"Trained with fedft by {len(audit['sites'])} sites over {settings.get('rounds_planned', '?')} planned rounds; "
        "only adapter updates left the sites, never text or the base model.",
        "",
        "## Guarantees",
        "",
        *_dp_lines(audit["sites"]),
        *_site_level_lines(audit.get("site_level")),
        "- **Secure aggregation (SecAgg+):** "
        + ("on — the server saw only the sum of the sites' clipped updates." if sa.get("enabled") else "off — the server saw each site's update."),
        "- **Anonymization:** text anonymized at each site before training; the run's policy "
        f"has sha256 `{settings.get('anonymization_policy_hash', 'unknown')}` (a site may apply "
        "its own; per-site counts are in the audit report).",
        f"- **Privacy ledger:** {'intact' if ledger['ok'] else 'FAILED VERIFICATION'} "
        f"({ledger['entries']} entries, head `{ledger['head_hash']}`, key `{ledger['key_fingerprint']}`). "
        "Check it yourself: `fedft audit RUN_DIR --verify --fingerprint <key>`.",
        "",
        "## Utility",
        "",
        f"Held-out {summary.get('metric', 'metric')}: {_fmt(summary.get('first'))} at round 0, "
        f"{_fmt(summary.get('last'))} at round {summary.get('rounds', '?')}.",
        "",
    ]
    return "\n".join(lines)


def write_model_card(run_dir: RunDir, out_dir: Path, *, server_round: int) -> Path:
    path = out_dir / CARD_NAME
    path.write_text(model_card(run_dir, server_round=server_round), encoding="utf-8")
    return path
