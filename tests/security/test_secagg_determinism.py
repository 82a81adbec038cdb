"""Two runs of the default config (SecAgg+ on) with one seed end with bit-identical adapters.

Flower's SecAgg+ quantization rounds stochastically with numpy's global RNG; fedft seeds it per
(run seed, round, site) in its client mod (fedft.federation.secagg.client_mods).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from fedft.federation.secagg import quantization_seed

REPO = Path(__file__).resolve().parents[2]
FEDFT = str(Path(sys.executable).parent / "fedft")
ROUNDS = 2
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
]


def test_quantization_seed_is_a_function_of_seed_round_and_site():
    one = quantization_seed(seed=0, server_round="1", site_id="site-0")
    assert np.array_equal(one, quantization_seed(seed=0, server_round=1, site_id="site-0"))
    others = [
        quantization_seed(seed=1, server_round=1, site_id="site-0"),
        quantization_seed(seed=0, server_round=2, site_id="site-0"),
        quantization_seed(seed=0, server_round=1, site_id="site-1"),
    ]
    assert not any(np.array_equal(one, o) for o in others)


def _cmd(out_or_resume: list[str]) -> list[str]:
    cmd = [FEDFT, "simulate", str(REPO / "configs" / "default.yaml"), *out_or_resume]
    for o in OVERRIDES:
        cmd += ["--set", o]
    return cmd


def _final_adapter(run: Path) -> dict:
    [file] = (run / "rounds" / f"round-{ROUNDS:03d}" / "adapter").glob("*.safetensors")
    return load_file(str(file))


def _checkpoint_round(run: Path) -> int:
    try:
        return json.loads((run / "checkpoint" / "latest.json").read_text())["round"]
    except (OSError, ValueError):
        return 0


@contextmanager
def _cpu_load():
    """A busy process beside the run, so its threads are preempted at other moments."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


@pytest.mark.integration
def test_secure_aggregation_runs_and_a_resumed_run_give_bit_identical_adapters(tmp_path):
    # Prepare: two uninterrupted runs, the second beside a busy process, and a third killed
    # (-9, whole process group) once round 1 is checkpointed, then resumed beside the busy one.
    done = subprocess.run(_cmd(["-o", str(tmp_path / "a")]), capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with _cpu_load():
        done = subprocess.run(_cmd(["-o", str(tmp_path / "b")]), capture_output=True, text=True,
                              timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        _cmd(["-o", str(cut)]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while _checkpoint_round(cut) < 1:
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint after 10 minutes"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with _cpu_load():
        resumed = subprocess.run(_cmd(["--resume", str(cut)]), capture_output=True, text=True,
                                 timeout=900)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    # Assert
    first, second, after_resume = (_final_adapter(tmp_path / n) for n in ("a", "b", "cut"))
    assert first.keys() == second.keys() == after_resume.keys()
    for key in first:
        assert first[key].tobytes() == second[key].tobytes(), key
    for key in first:
        assert first[key].tobytes() == after_resume[key].tobytes(), f"{key} differs after resume"
