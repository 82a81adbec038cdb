"""Rebuild a site's sealed privacy budget from the run ledgers' signed records of that site.

For a site whose `dp-budget.json` was lost or damaged (`BudgetTampered`) and has no backup:
every round it trained is in the ledger of the run it trained in, with its DP parameters,
signed by the site's own key. The rebuilt budget holds exactly those rounds (signatures
checked against this site's key, so a coordinator cannot slip rounds out), and records the
recovery in the file and, through the site's next round records, in the ledger.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fedft.dp.budget import BudgetRecord, SiteBudget
from fedft.run.ledger_format import public_bytes
from fedft.run.ledger_verify import read_ledger, verify_ledger
from fedft.run.site_signature import verify_site_parts

__all__ = ["rebuild_budget"]


def rebuild_budget(
    *,
    run_dirs: Sequence[Path],
    site: str,
    budget_path: Path,
    marker: Path,
    key: Ed25519PrivateKey,
    reason: str,
) -> SiteBudget:
    """Write a sealed budget of every round `site` trained in `run_dirs` (oldest run first);
    raises ValueError if a ledger is damaged or holds none of this site's signed DP rounds."""
    fingerprint = hashlib.sha256(public_bytes(key.public_key())).hexdigest()
    records: list[BudgetRecord] = []
    kept: tuple | None = None
    heads = []
    for run in run_dirs:
        verified = verify_ledger(run)
        if not verified.ok:
            raise ValueError(f"{run}: the ledger fails verification: {verified.problems[0]}")
        heads.append(verified.head_hash)
        entries = read_ledger(run)
        mine = []
        for e in entries:
            if e.get("kind") != "round":
                continue
            parts = [p for p in e["body"].get("sites") or [] if p.get("site") == site]
            mine.append({**e, "body": {**e["body"], "sites": parts}})
        problems, _ = verify_site_parts(mine, pinned={site: fingerprint})
        if problems:
            raise ValueError(f"{run}: {problems[0]}; not this site's records")
        latest = {e["body"]["round"]: e for e in mine}  # a resumed run's last entry wins
        for r in sorted(latest):
            for part in latest[r]["body"]["sites"]:
                dp = part.get("dp")
                if part.get("status") != "trained" or not dp:
                    continue
                records.append(
                    BudgetRecord(
                        round=int(r),
                        noise_multiplier=float(dp["noise_multiplier"]),
                        sample_rate=float(dp["sample_rate"]),
                        steps=int(dp["steps"]),
                        epsilon_total=float(dp["epsilon_total"]),
                        time=str(latest[r].get("time", "")),
                    )
                )
                kept = (dp["accountant"], float(dp["delta"]), int(dp.get("group_size", 1)))
    if kept is None:
        raise ValueError(f"no signed DP round of {site} in {', '.join(map(str, run_dirs))}")
    accountant, delta, group_size = kept
    budget = SiteBudget(
        Path(budget_path),
        accountant=accountant,
        delta=delta,
        max_epsilon=None,
        records=records,
        declines=[],
        group_size=group_size,
        signing_key=key,
        marker=Path(marker),
        recoveries=[
            {
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "reason": reason,
                "rounds": len(records),
                "ledger_heads": heads,
            }
        ],
    )
    budget.save()
    return budget
