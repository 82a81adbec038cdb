"""A run killed with SIGKILL in the middle of a round and resumed with `--resume` ends with a
global adapter bit-identical to an uninterrupted run of the same config and seed, and its
ledger still verifies (with a `resume` entry saying where it picked up)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.numpy import load_file

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
FEDFT = str(Path(sys.executable).parent / "fedft")
ROUNDS = 3  # a round of this tiny run can take < 2 s: three leave room to land mid-run
OVERRIDES = [
    "federation.num_clients=2",
    f"federation.rounds={ROUNDS}",
    "federation.min_fit_clients=2",
    "data.synthetic.n_train=96",
    "data.synthetic.n_eval=32",
    "data.max_length=64",
    "training.max_steps=4",
    "training.batch_size=8",
    "evaluation.local_baseline=false",
    # The plain-FedAvg resume path; with SecAgg+ on (the default), resume is bit-identical too:
    # tests/security/test_secagg_determinism.py.
    "secure_aggregation.enabled=false",
]


def _cmd(*extra: str) -> list[str]:
    cmd = [FEDFT, "simulate", str(REPO / "configs" / "default.yaml"), *extra]
    for o in OVERRIDES:
        cmd += ["--set", o]
    return cmd


def _final_adapter(run: Path) -> dict:
    files = list((run / "rounds" / f"round-{ROUNDS:03d}" / "adapter").glob("*.safetensors"))
    assert len(files) == 1, files
    return load_file(str(files[0]))


def _checkpoint_round(run: Path) -> int:
    manifest = run / "checkpoint" / "latest.json"
    try:
        return json.loads(manifest.read_text())["round"]
    except (OSError, ValueError):
        return 0


def test_a_run_killed_mid_round_resumes_to_the_same_adapter(tmp_path):
    # Prepare: the reference, uninterrupted
    clean = tmp_path / "clean"
    subprocess.run(_cmd("-o", str(clean)), check=True, capture_output=True, timeout=900)

    # Execute: kill the whole process group (fedft and its Ray processes) once round 1 is
    # checkpointed and round 2 is under way, then resume
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        _cmd("-o", str(cut)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while _checkpoint_round(cut) < 1:
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint after 10 minutes"
            time.sleep(0.2)
        time.sleep(0.5)  # the sites are training the next round
        assert 1 <= _checkpoint_round(cut) < ROUNDS, "the run finished before it was killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    resumed = subprocess.run(
        _cmd("--resume", str(cut)), capture_output=True, text=True, timeout=900
    )

    # Assert
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    want, got = _final_adapter(clean), _final_adapter(cut)
    assert want.keys() == got.keys()
    for name in want:
        assert want[name].tobytes() == got[name].tobytes(), f"{name} differs after resume"
    metrics = [
        json.loads(line)["round"] for line in (cut / "metrics.jsonl").read_text().splitlines()
    ]
    assert metrics == list(range(ROUNDS + 1))
    verify = subprocess.run([FEDFT, "audit", str(cut), "--verify"], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    kinds = [
        json.loads(line)["kind"]
        for line in next(cut.glob("*ledger*.jsonl")).read_text().splitlines()
    ]
    assert kinds.count("resume") == 1 and kinds[0] == "run_start" and kinds[-1] == "run_end"


def test_resume_refuses_a_changed_config(tmp_path):
    # Prepare: a run folder whose config has one round more than the one resumed with
    run = tmp_path / "r"
    run.mkdir()
    started = subprocess.run(
        [
            FEDFT,
            "validate",
            str(REPO / "configs" / "default.yaml"),
            *sum((["--set", o] for o in OVERRIDES), []),
            "--set",
            f"federation.rounds={ROUNDS + 1}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (run / "config.yaml").write_text(started.stdout)

    # Execute
    out = subprocess.run(_cmd("--resume", str(run)), capture_output=True, text=True, timeout=300)

    # Assert
    assert out.returncode != 0
    assert "config differs from the one the run started with (sections: federation)" in out.stderr
    assert "Traceback" not in out.stderr
