"""The empirical audit (canaries) in the privacy report: read `empirical_audit.json`, say in
plain words what it shows and what it does not, and raise a finding when a measured lower
bound exceeds the claimed ε. Plain JSON in, text out: no model, no audit math here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = [
    "EMPIRICAL_READING",
    "empirical_findings",
    "empirical_lines",
    "empirical_table",
    "read_empirical",
]

EMPIRICAL_FILE = "empirical_audit.json"  # written by fedft.audit.empirical

EMPIRICAL_READING = [
    "Canaries are synthetic records planted at a site; each was trained on with probability "
    "½, and only the site knows which. The attacks guess which ones from the final "
    "adapter alone.",
    "Membership AUC: 0.5 = the attack cannot tell trained-on canaries from held-out ones; "
    "1.0 = it always can. Exposure (causal LMs): how many bits the model gives away about a "
    "canary's secret; about 1.4 bits is chance.",
    "The ε lower bound is what the canaries prove at the stated confidence: the run is NOT "
    "(ε_lb, δ)-DP. It is not a certificate — a small value means this attack found little, "
    "not that nothing leaks. The accounted ε is the guarantee; a lower bound above it means a bug.",
    "A canary repeated r times is a group of r records: DP protects it only at about r·ε "
    "(group privacy), so repeated canaries can leak under DP without any bug.",
]


def read_empirical(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / EMPIRICAL_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("sites"), list) else None


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def empirical_findings(empirical: dict[str, Any] | None) -> list[str]:
    """One loud line per site whose canaries contradict its claimed ε."""
    if not empirical:
        return []
    out = []
    for site in empirical["sites"]:
        if site.get("verdict") == "VIOLATION":
            out.append(f"EMPIRICAL AUDIT VIOLATION at {site['site']}: {site.get('reading', '')}")
    return out


def empirical_lines(empirical: dict[str, Any]) -> list[str]:
    """Per site: what was measured, then the reading against the claim."""
    lines = []
    for s in empirical["sites"]:
        mi = s["membership_loss"]
        text = (
            f"{s['site']}: {s['canaries']} canaries ({s['included']} trained on, each "
            f"{s['repeats']}×). Membership inference AUC {_f(mi['auc'])}, TPR at 1% FPR "
            f"{_f(mi['tpr_at_1pct_fpr'])}"
        )
        exp = s.get("exposure")
        if exp:
            text += (
                f"; exposure {_f(exp['included_mean'])} bits for trained-on canaries vs "
                f"{_f(exp['held_out_mean'])} held out (gap {_f(exp['gap'])} ± "
                f"{_f(exp['gap_stderr'])}, of at most {_f(exp['max_exposure'])})"
            )
        lines.append(text + ".")
        lines.append(str(s.get("reading", "")))
    return lines


def empirical_table(empirical: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    headers = [
        "site",
        "canaries (in)",
        "repeats",
        "MI AUC (loss)",
        "MI AUC (calibrated)",
        "TPR @ 1% FPR",
        "exposure in / out",
        "ε lower bound",
        "claimed ε per canary",
        "verdict",
    ]
    rows = []
    for s in empirical["sites"]:
        cal = s.get("membership_calibrated")
        exp = s.get("exposure")
        lb = s.get("lower_bound")
        rows.append(
            [
                s["site"],
                f"{s['canaries']} ({s['included']})",
                str(s["repeats"]),
                _f(s["membership_loss"]["auc"]),
                _f(cal["auc"]) if cal else "—",
                _f(s["membership_loss"]["tpr_at_1pct_fpr"]),
                f"{_f(exp['included_mean'])} / {_f(exp['held_out_mean'])}" if exp else "—",
                _f(lb["epsilon"]) if lb else "—",
                _f(s.get("claimed_epsilon_per_canary")),
                str(s.get("verdict")),
            ]
        )
    return headers, rows
