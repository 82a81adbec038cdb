"""Ray for `fedft simulate`: a private folder per run, a run that stops when Ray does not start,
and no process of the run left after SIGTERM or `kill -9` of fedft."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fedft.federation import ray_launch

REPO = Path(__file__).resolve().parents[2]
FEDFT = str(Path(sys.executable).parent / "fedft")
OVERRIDES = [
    "federation.num_clients=2",
    "federation.rounds=20",
    "federation.min_fit_clients=2",
    "data.synthetic.n_train=96",
    "data.synthetic.n_eval=32",
    "data.max_length=64",
    "training.max_steps=4",
    "training.batch_size=8",
    "evaluation.local_baseline=false",
    "federation.backend=ray",  # the default runs sites in-process (test_inprocess_exposure)
]


def test_ray_that_does_not_start_stops_the_run_and_leaves_nothing(monkeypatch):
    import ray

    def refuse(**_kwargs):
        raise RuntimeError("Failed to start the GCS server\nwithin 60 s")

    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(ray_launch.RayStartError, match="Ray did not start .*GCS server within"):
        with ray_launch.local_ray(verbose=False):
            pytest.fail("the body must not run without Ray")
    leftover = [p for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("fedft-ray-*")
                if ray_launch.run_processes(p) == [] and not any(p.iterdir())]  # fmt: skip
    assert leftover == []


def _watchdog_dir(fedft_pid: int, *, timeout: float) -> Path:
    """The private Ray folder of the `fedft simulate` with this pid, once its raylet runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == fedft_pid and b"fedft.federation.ray_launch" in argv:
                folder = Path(argv[-2].decode() if argv[-1] == b"" else argv[-1].decode())
                names = b"".join(
                    (Path("/proc") / str(p) / "cmdline").read_bytes()
                    for p in ray_launch.run_processes(folder)
                    if (Path("/proc") / str(p)).exists()
                )
                if b"default_worker" in names:  # actors: ray.init has returned
                    return folder
        time.sleep(0.5)
    raise AssertionError("no Ray of this run appeared")


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_no_process_of_the_run_outlives_fedft(tmp_path, sig):
    cmd = [FEDFT, "simulate", str(REPO / "configs" / "default.yaml"), "-o", str(tmp_path / "r")]
    for o in OVERRIDES:
        cmd += ["--set", o]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        folder = _watchdog_dir(proc.pid, timeout=240)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # Ray's own folder is inside it
        deadline = time.monotonic() + 300
        while not (tmp_path / "r" / "rounds").exists() and time.monotonic() < deadline:
            time.sleep(0.5)  # mid-run: after Ray started and a round ran
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        if sig == signal.SIGTERM:
            assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, err.decode()[-3000:])
            assert b"Traceback" not in err and b"SystemExit" not in err, err.decode()[-2000:]
        time.sleep(10)
        assert ray_launch.run_processes(folder) == []
        assert not folder.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
