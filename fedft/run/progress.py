"""Local-step progress of simulated sites, shared through small files in the run folder, and
the privacy spent per round as the ledger records it.

Virtual sites train in worker processes; each writes its latest step to
`progress/<site>.json` (atomically, throttled) and the terminal reads them. Nothing but
counters and the running loss is written — never data.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from fedft.run.rundir import atomic_write_text


class StepReporter:
    """`on_step(step, total, loss)` callback for the training loop; `total` may be 0 if unknown."""

    def __init__(self, folder: Path, site: str, *, server_round: int, min_interval_s: float = 0.5):
        self.path = folder / f"{site}.json"
        self.site = site
        self.server_round = server_round
        self.min_interval_s = min_interval_s
        self._last = -math.inf

    def __call__(self, step: int, total: int, loss: float) -> None:
        now = time.monotonic()
        if step != total and now - self._last < self.min_interval_s:
            return
        self._last = now
        record = {"site": self.site, "round": self.server_round, "step": step, "total": total, "loss": loss}
        atomic_write_text(self.path, json.dumps(record))


def read_progress(folder: Path) -> list[dict]:
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # being replaced right now; the next poll reads it
    return out


def round_epsilons(ledger: Path, *, server_round: int) -> dict[str, float]:
    """ε spent so far by each site that trained in `server_round`, from that round's ledger
    entry (the DP account each site signed); under site-level DP, the run's ε as "all sites".
    Empty without DP or before the round is recorded."""
    try:
        lines = ledger.read_text(encoding="ascii").splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line being appended right now
        body = entry.get("body") or {}
        if entry.get("kind") != "round" or body.get("round") != server_round:
            continue
        if body.get("site_dp"):
            return {"all sites": float(body["site_dp"]["epsilon_total"])}
        return {
            s["site"]: float(s["dp"]["epsilon_total"])
            for s in body.get("sites", [])
            if s.get("status") == "trained" and s.get("dp")
        }
    return {}
