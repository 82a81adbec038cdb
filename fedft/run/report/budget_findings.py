"""Findings about the sites' privacy budgets, from the ledger: an ε over the cap, and a budget
history that restarted (a site whose budget file was deleted or replaced starts again from 0;
its own reports then fall, while the ledger keeps every round it trained)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fedft.run.report.mechanisms import Mechanism

__all__ = ["budget_findings"]

_TOLERANCE = 1e-6


def _restarts(rounds: Sequence[Mapping[str, Any]]) -> list[str]:
    """A site whose budget record count or reported ε total fell between two rounds."""
    last: dict[str, tuple[int, int | None, float | None]] = {}
    recoveries: dict[str, int] = {}
    found = []
    for body in rounds:
        for part in body.get("sites") or []:
            if part.get("status") != "trained":
                continue
            site, r = str(part.get("site")), int(body["round"])
            budget, dp = part.get("budget"), part.get("dp")
            count = int(budget["records"]) if isinstance(budget, Mapping) else None
            eps = float(dp["epsilon_total"]) if isinstance(dp, Mapping) else None
            recovered = int(budget.get("recoveries", 0)) if isinstance(budget, Mapping) else 0
            if recovered > recoveries.get(site, 0):
                found.append(
                    f"{site}: trained round {r} on a privacy budget rebuilt from the ledger "
                    f"(recovery {recovered}; see the site's dp-budget.json `recoveries`)"
                )
            recoveries[site] = recovered
            if site in last:
                r0, count0, eps0 = last[site]
                fell = (count is not None and count0 is not None and count <= count0) or (
                    eps is not None and eps0 is not None and eps < eps0 * (1 - _TOLERANCE)
                )
                if fell:
                    found.append(
                        f"{site}: its privacy-budget history restarted between round {r0} and "
                        f"round {r} (budget records {count0} → {count}, reported ε "
                        f"{eps0} → {eps}); its ε is recomputed over every round in the ledger"
                    )
            last[site] = (r, count, eps)
    return found


def budget_findings(
    rounds: Sequence[Mapping[str, Any]],
    sites: Sequence[Mechanism],
    settings: Mapping[str, Any],
) -> list[str]:
    """Every site whose recomputed ε exceeds dp.max_epsilon, and every budget restart."""
    dp = settings.get("dp")
    cap = dp.get("max_epsilon") if isinstance(dp, Mapping) else None
    found = []
    if isinstance(cap, int | float):
        for m in sites:
            eps = m.epsilon_recomputed if m.epsilon_recomputed is not None else m.epsilon
            if eps is not None and eps > cap * (1 + _TOLERANCE):
                found.append(
                    f"{m.name}: ε = {eps:.4g} over every round it trained in this run exceeds "
                    f"dp.max_epsilon = {cap:g}"
                )
    return found + _restarts(rounds)
