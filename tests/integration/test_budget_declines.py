"""Sites out of privacy budget under SecAgg+ (the default): the round that stops the run names
who declined and why, in the terminal, metrics.jsonl and the ledger; not as a SecAgg+ timeout."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from small_run import SMALL

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FEDFT = str(Path(sys.executable).parent / "fedft")
OVERRIDES = [
    *SMALL,
    # A fixed noise multiplier whose first round alone costs ε ≈ 1.2–1.3, against a cap of 0.01
    "dp.enabled=true",
    "dp.noise_multiplier=1.0",
    "dp.max_epsilon=0.01",
]


def test_declines_under_secure_aggregation_stop_the_run_with_the_sites_reasons(tmp_path):
    # Execute
    cmd = [FEDFT, "simulate", str(REPO / "configs" / "default.yaml"), "-o", str(tmp_path / "run")]
    for o in OVERRIDES:
        cmd += ["--set", o]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)

    # Assert: a one-line error naming a site's own reason
    assert done.returncode == 2, done.stderr[-3000:]
    [error] = [line for line in done.stderr.splitlines() if line.startswith("fedft simulate: error")]
    assert "fewer than federation.min_fit_clients" in error
    assert "declined round 1: privacy budget" in error and "above dp.max_epsilon = 0.01" in error
    assert "ray::" not in error and "\\n" not in error
    # metrics.jsonl: round 1 recorded, nothing applied, each failure a clean sentence
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["round"] == 1 and last["aborted"] and last["clients_finished"] == 0
    assert sorted(f.split(" declined")[0] for f in last["client_failures"]) == ["site-0", "site-1"]
    assert all(f.endswith("trains no more") for f in last["client_failures"]), last["client_failures"]
    # The ledger: both sites declined in round 1, with their reason
    entries = [json.loads(line) for line in (tmp_path / "run" / "privacy-ledger.jsonl").open()]
    [round_1] = [e["body"] for e in entries if e["body"].get("round") == 1 and "sites" in e["body"]]
    assert sorted((s["site"], s["status"]) for s in round_1["sites"]) == [
        ("site-0", "declined"),
        ("site-1", "declined"),
    ]
    assert all("privacy budget" in s["reason"] and "ray::" not in s["reason"] for s in round_1["sites"])
