"""The words and tables of the audit report, shared by the HTML and Markdown renderers.

Written for compliance readers: every guarantee is one plain sentence naming who is protected
(a record of a site, or a whole site), against what, and how strongly.
"""

from __future__ import annotations

import math
from typing import Any

from fedft.run.ledger_verify import UNPINNED_WARNING
from fedft.run.report.audit import Audit
from fedft.run.report.mechanisms import Mechanism

__all__ = [
    "fmt_delta",
    "fmt_eps",
    "guarantee_lines",
    "ledger_line",
    "round_table",
    "settings_rows",
    "site_table",
]

Table = tuple[list[str], list[list[str]]]


def fmt_eps(value: float | None) -> str:
    return "∞ (no DP)" if value is None else f"{value:.3g}"


def fmt_delta(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def ledger_line(audit: Audit) -> str:
    v = audit.verification
    if v.ok:
        closed = (
            "the run's closing entry is present"
            if v.closed
            else ("no closing entry yet (run unfinished, or cut short)")
        )
        text = (
            f"Ledger verified: {v.entries} entries, hash chain and every signature intact; "
            f"{closed}. Signing key fingerprint {v.key_fingerprint}; last entry hash {v.head_hash}."
        )
        text += (
            f" {v.site_signatures} site record(s) carry their site's own valid signature"
            + (
                " by the key each site published."
                if v.sites_pinned
                else " (give the sites' published fingerprints with --site-fingerprint to "
                "check whose keys they are)."
            )
        )
        if not v.pinned:
            text += f" {UNPINNED_WARNING}"
        custody = audit.section("ledger_key").get("custody")
        if custody == "per-run":
            text += (
                " This run signed with a per-run key kept in its own folder (a simulation); "
                "a deployment signs with a provisioned key (ledger.signing_key)."
            )
        return text
    return (
        f"Ledger verification FAILED ({len(v.problems)} problem(s)): the figures may have been "
        "altered."
    )


def _factor(eps: float) -> str:
    factor = math.exp(eps)
    if factor < 100:
        return f"{factor:.3g}"
    return f"{factor:,.0f}" if factor < 1e9 else f"{factor:.1e}"


def _record_sentence(m: Mechanism) -> str:
    if m.epsilon is None:
        return (
            f"Records of {m.name} carry no differential-privacy guarantee in this run "
            "(sample-level DP was off)."
        )
    if m.group_size > 1:
        unit = f"Any {m.group_size} records of {m.name} together (e.g. one person's records)"
        whether = f"Whether any {m.group_size} records are"
        accountant = "groups accounted with mixture-of-Gaussians PLDs"
    else:
        unit, whether = f"Each record of {m.name}", "Whether any single record is"
        accountant = f"{m.accountant} accountant"
    return (
        f"{unit}: (ε = {fmt_eps(m.epsilon)}, δ = {fmt_delta(m.delta)})-differential privacy "
        f"over the whole run ({m.rounds_trained} round(s) trained, {accountant}). {whether} "
        f"in {m.name}'s data or not changes the probability of anything that can be observed "
        "from the training — every global adapter of every round — by a factor of at most "
        f"e^ε ≈ {_factor(m.epsilon)}, except with probability at most {fmt_delta(m.delta)}."
    )


def guarantee_lines(audit: Audit) -> list[str]:
    """One plain sentence per protection, then declines."""
    lines = [_record_sentence(m) for m in audit.sites]
    if not audit.sites:
        lines.append("The ledger names no site: no per-record guarantee can be stated.")
    s = audit.site_level
    if s is not None and s.epsilon is not None:
        lines.append(
            f"Each site as a whole: (ε = {fmt_eps(s.epsilon)}, δ = {fmt_delta(s.delta)})-"
            f"differential privacy over {s.steps} round(s) (site-level DP, {s.accountant} "
            "accountant): whether a site took part at all changes the probability of any "
            f"global adapter by a factor of at most e^ε ≈ {_factor(s.epsilon)}, except with "
            f"probability at most {fmt_delta(s.delta)}. The coordinator adds this noise and "
            "sees the aggregate before it does: this protects a site against everyone who sees "
            "the published adapters (other sites, model users), not against the coordinator."
        )
    for m in audit.sites:
        if m.declined:
            rounds = ", ".join(str(d["round"]) for d in m.declined)
            reason = m.declined[0].get("reason") or "no reason given"
            plural = "s" if len(m.declined) > 1 else ""
            lines.append(f"{m.name} declined round{plural} {rounds}; first reason: {reason}")
    secagg = next(
        (r["secure_aggregation"] for r in reversed(audit.rounds) if r.get("secure_aggregation")),
        None,
    )
    if isinstance(secagg, dict):
        if secagg.get("enabled"):
            threshold = _fmt(secagg.get("reconstruction_threshold"))
            lines.append(
                "Secure aggregation was on: the server saw only the sum of the sites' updates of "
                f"each round, never one site's update (threshold {threshold} of "
                f"{_fmt(secagg.get('num_shares'))} shares)."
            )
        else:
            lines.append("Secure aggregation was off: the server saw each site's update.")
    return lines


def site_table(audit: Audit) -> Table:
    headers = [
        "party",
        "ε",
        "δ",
        "noise multiplier",
        "sample rate",
        "steps",
        "clipping norm",
        "accountant",
        "rounds trained",
        "declined",
        "ε reported / recomputed",
    ]
    rows = []
    for m in [*audit.sites, *([audit.site_level] if audit.site_level else [])]:
        rows.append(
            [
                m.name,
                fmt_eps(m.epsilon),
                fmt_delta(m.delta),
                _fmt(m.noise_multiplier),
                _fmt(m.sample_rate),
                str(m.steps),
                _fmt(m.max_grad_norm),
                _fmt(m.accountant) if m.group_size == 1 else f"groups of {m.group_size}",
                str(m.rounds_trained),
                ", ".join(str(d["round"]) for d in m.declined) or "—",
                f"{_fmt(m.epsilon_reported)} / {_fmt(m.epsilon_recomputed)}",
            ]
        )
    return headers, rows


def settings_rows(audit: Audit) -> list[tuple[str, str]]:
    dp, site_dp = audit.section("dp"), audit.section("site_dp")
    clips = sorted({m.max_grad_norm for m in audit.sites if m.max_grad_norm is not None})
    accountants = sorted({m.accountant for m in audit.sites if m.accountant})
    secagg = next(
        (r["secure_aggregation"] for r in reversed(audit.rounds) if r.get("secure_aggregation")),
        None,
    )
    if isinstance(secagg, dict) and secagg.get("enabled"):
        secagg_text = (
            f"on, threshold {_fmt(secagg.get('reconstruction_threshold'))} of "
            f"{_fmt(secagg.get('num_shares'))} shares"
        )
    elif isinstance(secagg, dict):
        secagg_text = "off"
    else:
        secagg_text = "not recorded"
    # With DP off the config still holds DP defaults (clipping norm 1...): they applied to nothing.
    dp_off = dp.get("enabled") is False and not clips

    def if_dp(text: str) -> str:
        return "— (DP off)" if dp_off else text

    rows = [
        (
            "sample-level DP",
            _fmt(dp.get("enabled")) if dp else ("yes" if clips else "not recorded"),
        ),
        (
            "per-record clipping norm",
            if_dp(", ".join(_fmt(c) for c in clips) or _fmt(dp.get("max_grad_norm"))),
        ),
        ("noise multiplier", if_dp("per site, see the table")),
        ("accountant", if_dp(", ".join(accountants) or _fmt(dp.get("accountant")))),
        ("target ε", if_dp(_fmt(dp.get("target_epsilon")))),
        ("budget cap (max ε per site)", if_dp(_fmt(dp.get("max_epsilon")))),
        (
            "site-level DP",
            _fmt(site_dp.get("enabled")) if site_dp else ("yes" if audit.site_level else "no"),
        ),
    ]
    if audit.site_level is not None:
        rows += [
            ("site-level noise multiplier", _fmt(audit.site_level.noise_multiplier)),
            ("site-level clipping norm", _fmt(audit.site_level.max_grad_norm)),
            (
                "site-level noise std on the mean update",
                _fmt(audit.site_level.noise_std)
                + (
                    f" ({_fmt(audit.site_level.num_sampled)} of "
                    f"{_fmt(audit.site_level.num_clients)} sites per round)"
                    if audit.site_level.num_sampled is not None
                    else ""
                ),
            ),
        ]
    hashes = audit.anonymization.get("policy_hashes") or []
    head_fit = audit.settings.get("head_fit_round")
    rows += [
        ("secure aggregation", secagg_text),
        (
            "head fit (model.head_fit)",
            f"round {head_fit}: no training; the sites sent feature statistics (mean second "
            "moments of their embeddings, per class), the server set the head from their mean"
            if head_fit
            else "no",
        ),
        ("anonymization policy hash", ", ".join(hashes) or "not recorded"),
        (
            "settings source",
            {"ledger": "the signed ledger", "config.yaml": "config.yaml (not signed)"}.get(
                audit.settings_source, "none found"
            ),
        ),
    ]
    return rows


def round_table(audit: Audit) -> Table:
    headers = [
        "round",
        "sites trained",
        "declined",
        "failed",
        "secure aggregation",
        "global adapter sha256",
    ]
    rows = []
    for r in audit.rounds:
        sa = r.get("secure_aggregation")
        sa_text = (
            f"on ({_fmt(sa.get('reconstruction_threshold'))}/{_fmt(sa.get('num_shares'))})"
            if isinstance(sa, dict) and sa.get("enabled")
            else "off"
            if isinstance(sa, dict)
            else "—"
        )
        rows.append(
            [
                str(r["round"]),
                ", ".join(r.get("trained", [])) or "—",
                ", ".join(r.get("declined", [])) or "—",
                ", ".join(r.get("failed", [])) or "—",
                sa_text,
                _fmt(r.get("global_adapter_sha256")),
            ]
        )
    return headers, rows
