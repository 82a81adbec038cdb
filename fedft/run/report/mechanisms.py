"""Each party's DP mechanism over a run, from the ledger's round entries: per site (DP-SGD
per record) and for the server (site-level DP per site).

ε is stated conservatively: the larger of what the party reported (a site's accountant covers
every round it spent on, including rounds the server never received) and what the auditor
recomputes from the per-round parameters in the ledger (`recompute`, injected by the caller
so this module stays free of the accounting library).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


def _latest(values: list[Any]) -> Any:
    return values[-1] if values else None


def site_mechanisms(
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


def site_level_mechanism(
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
