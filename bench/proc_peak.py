"""Run a command as a child process and measure its wall time and peak memory (the largest
sum of RSS over its whole process tree: fedft, Ray's raylet/GCS and workers), sampled every
0.25 s. Shared by the benchmarks that time whole `fedft` runs."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import psutil


def _tree_rss(proc: psutil.Process) -> int:
    try:
        tree = [proc, *proc.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        # A process of the tree exited while psutil walked it: this tick counts nothing, the
        # next one walks again (uncaught, it ended the sampling thread for the rest of the run).
        return 0
    total = 0
    for p in tree:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_measured(cmd: list[str]) -> tuple[float, int]:
    """(wall seconds, peak tree RSS bytes); exits with the command's stderr if it fails."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    proc, peak = psutil.Process(child.pid), 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.25):
            peak = max(peak, _tree_rss(proc))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = child.communicate()
    done.set()
    sampler.join()
    if child.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed ({child.returncode}): {err.strip()[-2000:]}")
    return time.perf_counter() - start, peak
