"""End-to-end wall time and peak memory of the main job: `fedft simulate configs/default.yaml`
(4 sites, 6 rounds, SecAgg+ and anonymization on, bundled MiniLM), as a child process; peak
memory is the largest RSS sum over its process tree (Ray workers included). Also prints the
accuracy the run reached, read from its summary.json.

    python bench/bench_simulation.py [--config configs/default.yaml]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from proc_peak import run_measured

REPO = Path(__file__).resolve().parents[1]
FEDFT = Path(sys.executable).parent / "fedft"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "default.yaml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        wall, peak = run_measured([str(FEDFT), "simulate", str(args.config), "-o", str(out)])
        summary = json.loads((out / "summary.json").read_text())
    print(f"config: {args.config.name}; {summary['rounds']} rounds")
    print(f"wall time: {wall:.0f} s; peak RSS (process tree): {peak / 2**20:.0f} MiB")
    if summary.get("metric") == "eval_accuracy":
        print(f"held-out accuracy: {100 * summary['first']:.1f}% -> {100 * summary['last']:.1f}%")
    print(f"upload per site per round: {summary['bytes_up_per_client']:,.0f} bytes")


if __name__ == "__main__":
    main()
