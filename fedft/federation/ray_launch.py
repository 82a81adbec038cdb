"""Ray for a one-machine simulation: loopback only, a private folder per run, nothing left behind.

Flower would start Ray itself (`ray.init` inside its backend) with Ray's defaults: a node address
reachable from the network, one shared `ray/` folder under the system temp folder, and, when Ray
fails to start under load, a run that goes on with no clients. fedft starts Ray first, so that
Flower reuses it:

- node address 127.0.0.1, no dashboard (Ray 2.55's GCS and raylet still bind their gRPC ports
  to all interfaces whatever the node address: see docs/security.md);
- Ray's folder sits in a fresh `mkdtemp` folder (mode 0700) for this run only, removed at the
  end;
- a failed start is a `RayStartError`, and the run stops;
- SIGTERM stops Ray and ends the process at once (exit 143) instead of Ray's driver handler
  (SystemExit(15) in the main thread, while Flower's threads keep the process alive);
- a watchdog process outlives a `kill -9` of fedft: when fedft's end of a pipe closes, for any
  reason, it kills every process whose command line names this run's Ray folder (raylet, GCS,
  runtime-env agent, workers) and removes the folder.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RayStartError", "local_ray"]

log = logging.getLogger(__name__)

# Seconds the watchdog waits between SIGTERM and SIGKILL of the run's leftover Ray processes.
_GRACE_SECONDS = 2.0


class RayStartError(RuntimeError):
    """Ray did not start; the simulation cannot run."""


@contextlib.contextmanager
def local_ray(*, verbose: bool) -> Iterator[Path]:
    """Start a private, loopback-only Ray for one simulation; yields Ray's folder.

    Flower's Ray backend sees Ray initialized and uses it as is; on exit (normal, exception or
    SIGTERM) Ray is shut down and the watchdog removes whatever is left."""
    import ray

    # Ray makes its own folder world-writable (0777): it lives inside one only this user can
    # enter (mkdtemp: 0700), unique to this run.
    private = Path(tempfile.mkdtemp(prefix="fedft-ray-"))
    temp_dir = private / "ray"
    watchdog = _start_watchdog(private)
    previous_term = signal.getsignal(signal.SIGTERM)
    try:
        # Flower's backend passes its actors this PYTHONPATH; Ray is started here, so here too.
        pythonpath = os.pathsep.join(sys.path)
        try:
            ray.init(
                _node_ip_address="127.0.0.1",
                include_dashboard=False,
                _temp_dir=str(temp_dir),
                logging_level=logging.DEBUG if verbose else logging.ERROR,
                log_to_driver=verbose,
                runtime_env={"env_vars": {"PYTHONPATH": pythonpath}},
            )
        except Exception as exc:  # noqa: BLE001 - Ray raises many types; all mean "no Ray"
            raise RayStartError(
                f"Ray did not start ({type(exc).__name__}: {' '.join(str(exc).split())[:300]}); "
                "the simulation needs it. Free memory or cores and run again (--verbose shows "
                "Ray's logs)"
            ) from None
        if threading_is_main():
            signal.signal(signal.SIGTERM, functools.partial(_terminate, watchdog=watchdog))
        yield temp_dir
    finally:
        if threading_is_main():
            signal.signal(signal.SIGTERM, previous_term)
        with contextlib.suppress(Exception):  # a half-started Ray may fail to stop cleanly
            ray.shutdown()
        _stop_watchdog(watchdog)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _terminate(signum: int, frame: object, *, watchdog: subprocess.Popen) -> None:  # noqa: ARG001
    """SIGTERM during a simulation: end now, leaving nothing behind. Flower's threads do not
    stop on an exception in the main thread, so the process would linger; the run folder needs
    no clean-up (every file in it is written atomically, and `--resume` continues from the
    last checkpoint, as after a kill -9)."""
    os.write(2, b"fedft: terminated (SIGTERM); stopping Ray\n")
    # EOF tells the watchdog (its own session) to end this run's Ray processes and remove the
    # folder, as after a kill -9. fedft does not wait for it: once the raylet dies, Ray's core
    # worker in this process ends it with exit code 1 (seen in CI), and the exit must be 143.
    if watchdog.stdin is not None:
        watchdog.stdin.close()
    os._exit(128 + signum)


def _start_watchdog(temp_dir: Path) -> subprocess.Popen:
    # Its own session: a Ctrl-C at the terminal reaches fedft, which cleans up, not the
    # watchdog, which must stay until fedft is gone.
    return subprocess.Popen(
        [sys.executable, "-m", "fedft.federation.ray_launch", str(temp_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _stop_watchdog(watchdog: subprocess.Popen) -> None:
    if watchdog.stdin is not None:
        watchdog.stdin.close()  # EOF: the watchdog cleans up and exits
    try:
        watchdog.wait(timeout=_GRACE_SECONDS + 10)
    except subprocess.TimeoutExpired:
        log.warning("Ray watchdog (pid %d) still cleaning up", watchdog.pid)


def run_processes(temp_dir: Path) -> list[int]:
    """PIDs of processes whose command line names `temp_dir` (this run's Ray processes)."""
    needle = str(temp_dir).encode()
    me = os.getpid()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:  # exited meanwhile, or not ours to read
            continue
    return pids


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _watch(temp_dir: Path) -> None:
    """Block until fedft's end of stdin closes, then end the run's Ray processes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdin.buffer.read()
    _signal_all(run_processes(temp_dir), signal.SIGTERM)
    deadline = time.monotonic() + _GRACE_SECONDS
    while run_processes(temp_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_all(run_processes(temp_dir), signal.SIGKILL)  # e.g. the runtime-env agent
    shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    _watch(Path(sys.argv[1]))
