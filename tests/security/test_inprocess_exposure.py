"""`fedft simulate` with the in-process backend (the default): a real run (tests/small_run.py)
listens on no socket, and after it ends, or after SIGTERM or `kill -9`, nothing of it is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from small_run import SMALL

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
FEDFT = str(Path(sys.executable).parent / "fedft")
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp*


def _cmd(out: Path, *extra: str) -> list[str]:
    cmd = [FEDFT, "simulate", str(REPO / "configs" / "default.yaml"), "-o", str(out)]
    for override in [*SMALL, "federation.backend=inprocess", *extra]:
        cmd += ["--set", override]
    return cmd


def _session(sid: int) -> list[int]:
    """PIDs in session `sid` (the run and anything it started)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == sid:  # after ')': state, ppid, pgrp, session
                pids.append(int(entry.name))
    return pids


def _listening(pids: list[int]) -> list[str]:
    """Local addresses (hex, as /proc/net shows them) of TCP sockets these processes listen on."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == LISTEN and cols[9] in inodes:
                found.append(cols[1])
    return found


def test_a_run_listens_on_nothing_and_leaves_no_process(tmp_path):
    proc = subprocess.Popen(_cmd(tmp_path / "r"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    try:
        others, listening, rounds = {}, [], tmp_path / "r" / "rounds"
        while proc.poll() is None:
            pids = _session(proc.pid)
            for pid in set(pids) - {proc.pid} - set(others):
                try:
                    others[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    others[pid] = b"?"
            listening += _listening(pids)
            time.sleep(0.2 if rounds.exists() else 0.5)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()[-3000:]
    assert listening == []
    # Short-lived helpers may come and go (one was seen once, too briefly to name); none may
    # listen (above) or outlive the run.
    assert _session(proc.pid) == [], others
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["rounds"] == 2


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_nothing_of_the_run_outlives_a_signal(tmp_path, sig):
    proc = subprocess.Popen(_cmd(tmp_path / "r", "federation.rounds=20"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "r" / "rounds").exists():  # mid-run: a round has run
            assert proc.poll() is None, proc.communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "no round after 5 minutes"
            time.sleep(0.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        if sig == signal.SIGTERM:
            assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, err.decode()[-3000:])
            assert b"Traceback" not in err and b"SystemExit" not in err, err.decode()[-2000:]
        assert _session(proc.pid) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
